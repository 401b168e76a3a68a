"""A webhook receiver for CarePulse alerts that verifies every request: run it, point
ALERT_WEBHOOK_URLS at it, and give both sides the same secret.

    CAREPULSE_WEBHOOK_SECRET=... python docs/examples/webhook_receiver.py --port 8099

Standard library only, so it can be copied into any project. It checks the signature over
"<timestamp>.<idempotency key>.<raw body>" before parsing anything, refuses stale timestamps
(replays), and acts on each Idempotency-Key once (CarePulse delivers at least once).
"""

import argparse
import hashlib
import hmac
import json
import os
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

TOLERANCE_S = 300


def is_from_carepulse(secret: bytes, timestamp: str, key: str, body: bytes, signature: str) -> bool:
    if not timestamp.isdigit() or abs(time.time() - int(timestamp)) > TOLERANCE_S:
        return False  # stale or malformed: possibly a replay
    signed = b".".join([timestamp.encode(), key.encode(), body])
    expected = "sha256=" + hmac.new(secret, signed, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, signature)


class AlertReceiver(ThreadingHTTPServer):
    """Keeps each accepted event once; a real receiver would page someone or open a ticket."""

    def __init__(self, address: tuple[str, int], secret: bytes) -> None:
        super().__init__(address, _Handler)
        self.secret = secret
        self.events: dict[str, dict[str, Any]] = {}  # Idempotency-Key -> event
        self.lock = threading.Lock()


class _Handler(BaseHTTPRequestHandler):
    server: AlertReceiver

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        key = self.headers.get("Idempotency-Key", "")
        if not is_from_carepulse(
            self.server.secret,
            self.headers.get("X-CarePulse-Timestamp", ""),
            key,
            body,
            self.headers.get("X-CarePulse-Signature", ""),
        ):
            self._answer(401)
            return
        with self.server.lock:
            if key not in self.server.events:  # a redelivery is acknowledged, not acted on twice
                self.server.events[key] = json.loads(body)
        self._answer(204)

    def _answer(self, status: int) -> None:
        self.send_response(status)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        pass  # requests carry alert details; keep them out of this example's output


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8099)
    args = parser.parse_args()
    receiver = AlertReceiver(
        (args.host, args.port), os.environ["CAREPULSE_WEBHOOK_SECRET"].encode()
    )
    print(f"listening on http://{args.host}:{receiver.server_port}/")
    receiver.serve_forever()


if __name__ == "__main__":
    main()
