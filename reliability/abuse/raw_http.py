"""HTTP/1.1 written by hand on a socket, for requests no well-behaved client library sends:
trickled bodies and headers, malformed framing, bytes that are not UTF-8."""

import socket
import time
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import urlsplit


@dataclass(frozen=True)
class RawResponse:
    status: int | None  # None: the server closed the connection without answering
    head: bytes
    seconds: float  # from the first byte sent to the answer (or the close)
    closed: bool | None = None  # whether the server closed the connection after answering


def address(url: str) -> tuple[str, int]:
    parts = urlsplit(url)
    return parts.hostname or "127.0.0.1", parts.port or 80


def send(
    url: str,
    chunks: Iterable[bytes | float],
    timeout_s: float = 30,
    wait_for_close_s: float | None = None,
) -> RawResponse:
    """Send each chunk of bytes in turn (a float is a pause, in seconds), then read the answer;
    with `wait_for_close_s`, also whether the server closes the connection within that time.

    A server that answers early (413 before the body is in, say) may close the socket while
    we still write: writing stops there and what it answered is read.
    """
    started = time.monotonic()
    with socket.create_connection(address(url), timeout=timeout_s) as connection:
        try:
            for chunk in chunks:
                if isinstance(chunk, float):
                    time.sleep(chunk)
                else:
                    connection.sendall(chunk)
        except (BrokenPipeError, ConnectionResetError):
            pass
        head = _read_head(connection, started + timeout_s)
        seconds = time.monotonic() - started
        closed = None
        if wait_for_close_s is not None:
            closed = _closes(connection, time.monotonic() + wait_for_close_s)
    return RawResponse(_status(head), head, seconds, closed)


def _closes(connection: socket.socket, deadline: float) -> bool:
    """Reads (and drops) what the server still sends; True once it closes, False at deadline."""
    while time.monotonic() < deadline:
        connection.settimeout(max(0.05, deadline - time.monotonic()))
        try:
            if not connection.recv(65536):
                return True
        except TimeoutError:
            return False
        except ConnectionResetError:
            return True
    return False


def _read_head(connection: socket.socket, deadline: float) -> bytes:
    received = b""
    while b"\r\n\r\n" not in received and time.monotonic() < deadline:
        connection.settimeout(max(0.05, deadline - time.monotonic()))
        try:
            data = connection.recv(65536)
        except (TimeoutError, ConnectionResetError):
            break
        if not data:
            break
        received += data
    return received


def _status(head: bytes) -> int | None:
    parts = head.split(b" ", 2)
    if len(parts) >= 2 and parts[0].startswith(b"HTTP/") and parts[1].isdigit():
        return int(parts[1])
    return None


def request_head(method: str, path: str, url: str, headers: Iterable[tuple[str, str]]) -> bytes:
    host, port = address(url)
    lines = [f"{method} {path} HTTP/1.1", f"Host: {host}:{port}"]
    lines += [f"{name}: {value}" for name, value in headers]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def send_while_open(url: str, chunks: Iterable[bytes | float], timeout_s: float) -> RawResponse:
    """Like `send`, but stop sending as soon as the server answers or closes: how a slow body
    learns it was cut off."""
    started = time.monotonic()
    deadline = started + timeout_s
    with socket.create_connection(address(url), timeout=timeout_s) as connection:
        for chunk in chunks:
            if time.monotonic() > deadline or _answered(connection):
                break
            try:
                if isinstance(chunk, float):
                    time.sleep(chunk)
                else:
                    connection.sendall(chunk)
            except (BrokenPipeError, ConnectionResetError):
                break
        head = _read_head(connection, deadline)
    return RawResponse(_status(head), head, time.monotonic() - started)


def _answered(connection: socket.socket) -> bool:
    """Whether the server has sent something (or closed), without consuming it."""
    timeout = connection.gettimeout()
    connection.setblocking(False)
    try:
        connection.recv(1, socket.MSG_PEEK)  # b"": closed, which is an answer too
        return True
    except BlockingIOError:
        return False
    except OSError:
        return True
    finally:
        connection.settimeout(timeout)
