"""Runs the gateway: settings from the environment, then serve until SIGTERM."""

import math
import sys

import uvicorn
from pydantic import ValidationError

from gateway.app import begin_shutdown, create_app
from gateway.server import GatewayServer
from gateway.settings import GatewaySettings
from gateway.upstreams import open_upstreams
from servicekit.logging import configure_logging
from servicekit.telemetry import setup_telemetry

SERVICE = "gateway"


def main() -> None:
    try:
        settings = GatewaySettings()
    except ValidationError as error:
        problems = "; ".join(
            f"{'.'.join(map(str, e['loc'])) or 'settings'}: {e['msg']}"
            for e in error.errors(include_input=False)
        )
        sys.exit(f"gateway: invalid settings: {problems}")
    configure_logging(SERVICE, settings.log_level)
    telemetry = setup_telemetry(SERVICE)
    upstreams = open_upstreams(settings)
    try:
        app = create_app(settings, upstreams)
        config = uvicorn.Config(
            app,
            host=settings.host,
            port=settings.port,
            log_config=None,  # keep the JSON logging configured above
            proxy_headers=True,
            server_header=False,
            timeout_graceful_shutdown=max(1, math.ceil(settings.grace_period_s)),
        )
        GatewayServer(config, on_exit=lambda: begin_shutdown(app)).run()
    finally:
        upstreams.close()
        telemetry.shutdown()


if __name__ == "__main__":
    main()
