"""What every span, metric and log record of a process says about where it comes from."""

import os
from importlib.metadata import PackageNotFoundError, version

from opentelemetry.sdk.resources import (
    DEPLOYMENT_ENVIRONMENT,
    SERVICE_NAME,
    SERVICE_NAMESPACE,
    SERVICE_VERSION,
    OTELResourceDetector,
    Resource,
)

NAMESPACE = "carepulse"
DEFAULT_ENVIRONMENT = "local"


def service_resource(service: str) -> Resource:
    """service.name, service.namespace, service.version and deployment.environment.

    OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES override these values: they are merged last,
    where Resource.create alone would let the values given in code win.
    """
    defaults = Resource.create(
        {
            SERVICE_NAME: service,
            SERVICE_NAMESPACE: NAMESPACE,
            SERVICE_VERSION: _service_version(),
            DEPLOYMENT_ENVIRONMENT: DEFAULT_ENVIRONMENT,
        }
    )
    return defaults.merge(OTELResourceDetector().detect())


def _service_version() -> str:
    # An image carries the source, not an installed distribution, so it names its version.
    image_version = os.environ.get("CAREPULSE_VERSION")
    if image_version:
        return image_version
    try:
        return version("carepulse")
    except PackageNotFoundError:
        return "unknown"
