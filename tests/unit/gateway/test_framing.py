"""A request that declares its body's length twice is refused, and its connection closed."""

import asyncio
import json

from starlette.types import Message, Receive, Scope, Send

from gateway.framing import AmbiguousFramingGuard


def _call(headers: list[tuple[bytes, bytes]]) -> tuple[list[Message], list[str]]:
    reached: list[str] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        reached.append(scope["path"])

    async def receive() -> Message:
        return {"type": "http.request", "body": b"{}", "more_body": False}

    sent: list[Message] = []

    async def send(message: Message) -> None:
        sent.append(message)

    scope = {"type": "http", "path": "/v1/chat", "method": "POST", "headers": headers}
    asyncio.run(AmbiguousFramingGuard(app)(scope, receive, send))
    return sent, reached


def test_content_length_with_transfer_encoding_gets_400_and_connection_close() -> None:
    sent, reached = _call([(b"content-length", b"4"), (b"transfer-encoding", b"chunked")])

    assert reached == []
    start = sent[0]
    assert start["status"] == 400
    headers = dict(start["headers"])
    assert headers[b"connection"] == b"close"
    assert headers[b"content-type"] == b"application/problem+json"
    body = json.loads(sent[1]["body"])
    assert body["type"].endswith("ambiguous-framing")
    assert body["instance"] == "/v1/chat"


def test_one_framing_header_passes_through() -> None:
    for headers in ([(b"content-length", b"2")], [(b"transfer-encoding", b"chunked")]):
        sent, reached = _call(headers)

        assert sent == []
        assert reached == ["/v1/chat"]
