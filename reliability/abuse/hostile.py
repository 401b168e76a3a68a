"""Requests an attacker sends on purpose: too big, too deep, too slow, not UTF-8, malformed
framing and headers, out-of-range values, and more alert streams than allowed. Each must get
a 4xx (the documented one where there is one) quickly, and the gateway must go on serving."""

import json
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from typing import Any

import httpx

from gateway.settings import GatewaySettings
from reliability.abuse import raw_http
from reliability.abuse.memory import alive
from reliability.abuse.target import Target

# "4xx" in an expectation: any client error; otherwise the exact statuses allowed. None (in
# `allowed`): the server may also just close the connection, as h11 does on framing it
# cannot parse.
Statuses = frozenset[int | None]
CLIENT_ERROR: Statuses = frozenset(range(400, 500))
CLOSED_OR_CLIENT_ERROR: Statuses = CLIENT_ERROR | {None}
# Overload and upstream time-outs are documented 5xx answers (with Retry-After); others not.
DOCUMENTED_5XX = frozenset({503, 504})
_CHAT = "/v1/chat"
_MESSAGES = "/v1/messages"


@dataclass(frozen=True)
class AttackResult:
    name: str
    expected: str
    observed: str
    ok: bool
    seconds: float


@dataclass
class HostileReport:
    results: list[AttackResult] = field(default_factory=list)
    server_errors: list[str] = field(default_factory=list)
    gateway_died_after: str | None = None

    @property
    def failed(self) -> list[AttackResult]:
        return [result for result in self.results if not result.ok]

    def summary(self) -> dict[str, Any]:
        return {
            "attacks": len(self.results),
            "failed": [f"{r.name}: expected {r.expected}, got {r.observed}" for r in self.failed],
            "server_errors": self.server_errors,
            "gateway_died_after": self.gateway_died_after,
            "results": {
                r.name: {"observed": r.observed, "ok": r.ok, "seconds": round(r.seconds, 2)}
                for r in self.results
            },
        }


class Attacks:
    """Runs each attack against `target`, checking after each that the gateway still lives."""

    def __init__(self, target: Target, log: Callable[[str], None] = print) -> None:
        self._target = target
        self._log = log
        self.report = HostileReport()
        self._client = {"X-API-Key": target.client_key}
        self._operator = {"X-API-Key": target.operator_key}

    def run_all(self, only: set[str] | None = None) -> HostileReport:
        for name, attack in self._attacks():
            if only is not None and name not in only:
                continue
            started = time.monotonic()
            try:
                expected, observed, ok = attack()
            except Exception as error:  # an attack that cannot even be sent is a finding too
                expected, observed, ok = "an answer", f"{type(error).__name__}: {error}", False
            result = AttackResult(name, expected, observed, ok, time.monotonic() - started)
            self.report.results.append(result)
            self._log(f"  {'ok ' if ok else 'BAD'} {name}: {observed}")
            if not self._gateway_serves():
                self.report.gateway_died_after = name
                break
        return self.report

    def _attacks(self) -> Iterator[tuple[str, Callable[[], tuple[str, str, bool]]]]:
        yield "body_over_limit_declared", self.body_over_limit_declared
        yield "body_over_limit_chunked", self.body_over_limit_chunked
        yield "content_length_lies_larger", self.content_length_lies_larger
        yield "deeply_nested_array", self.deeply_nested_array
        yield "deeply_nested_object", self.deeply_nested_object
        yield "deeply_nested_field", self.deeply_nested_field
        yield "invalid_utf8_body", self.invalid_utf8_body
        yield "lone_surrogate_and_nul_in_text", self.lone_surrogate_and_nul_in_text
        yield "json_with_10k_unknown_fields", self.unknown_fields
        yield "batch_of_50k_invalid_items", self.batch_of_50k_invalid_items
        yield "batch_over_500", self.batch_over_500
        yield "nfkc_expansion_bomb", self.nfkc_expansion_bomb
        yield "duplicate_json_keys", self.duplicate_json_keys
        yield "wrong_content_type", self.wrong_content_type
        yield "slow_body", self.slow_body
        yield "slow_headers_do_not_block_others", self.slow_headers
        yield "headers_of_100kb_and_4mb", self.huge_header
        yield "thousands_of_headers", self.many_headers
        yield "invalid_header_name", self.invalid_header_name
        yield "non_utf8_header_values", self.non_utf8_header_values
        yield "control_chars_in_idempotency_key", self.control_chars_in_idempotency_key
        yield "content_length_and_chunked", self.content_length_and_chunked
        yield "non_numeric_content_length", self.non_numeric_content_length
        yield "url_of_64kb", self.huge_url
        yield "non_utf8_path_and_query", self.non_utf8_path_and_query
        yield "out_of_range_numbers_and_times", self.out_of_range_values
        yield "alert_streams_over_the_caps", self.streams_over_the_caps

    # ---- bodies ----

    def body_over_limit_declared(self) -> tuple[str, str, bool]:
        size = self._target.max_body_bytes + 1
        response = self._raw(
            "POST", _MESSAGES, [("Content-Length", str(size))], body=b"x" * size, auth=True
        )
        return "413", self._seen(response.status), response.status == 413

    def body_over_limit_chunked(self) -> tuple[str, str, bool]:
        """No Content-Length: the limit must hold on bytes counted as they arrive."""
        chunk = b"x" * 65536
        count = 2 * self._target.max_body_bytes // len(chunk)
        framed = b"%x\r\n%s\r\n" % (len(chunk), chunk)
        head = self._head("POST", _MESSAGES, [("Transfer-Encoding", "chunked")], auth=True)
        response = raw_http.send(self._target.url, [head, *([framed] * count), b"0\r\n\r\n"])
        return "413", self._seen(response.status), response.status == 413

    def content_length_lies_larger(self) -> tuple[str, str, bool]:
        """Declares 10 MB, sends 10 bytes: refused on the declaration, nothing waited for."""
        response = self._raw(
            "POST", _MESSAGES, [("Content-Length", str(10 * 2**20))], body=b"x" * 10, auth=True
        )
        return (
            "413 at once",
            self._seen(response.status, response.seconds),
            (response.status == 413 and response.seconds < 5),
        )

    def deeply_nested_array(self) -> tuple[str, str, bool]:
        depth = min(200_000, self._target.max_body_bytes // 2 - 1)
        return self._expect_4xx(_CHAT, b"[" * depth + b"]" * depth)

    def deeply_nested_object(self) -> tuple[str, str, bool]:
        depth = min(100_000, self._target.max_body_bytes // 8)
        return self._expect_4xx(_CHAT, b'{"a":' * depth + b"1" + b"}" * depth)

    def deeply_nested_field(self) -> tuple[str, str, bool]:
        depth = min(100_000, self._target.max_body_bytes // 4)
        nested = b"[" * depth + b"]" * depth
        body = b'{"conversation_id": "c", "customer_id": "u", "text": ' + nested + b"}"
        return self._expect_4xx(_CHAT, body)

    def invalid_utf8_body(self) -> tuple[str, str, bool]:
        body = b'{"conversation_id": "c", "customer_id": "u", "text": "card \xff\xfe\xc0\xaf"}'
        return self._expect_4xx(_CHAT, body)

    def lone_surrogate_and_nul_in_text(self) -> tuple[str, str, bool]:
        """Valid JSON escapes that are not valid text: refused or cleaned, never a 5xx."""
        body = b'{"conversation_id": "c\\u0000", "customer_id": "u", "text": "a\\ud800b\\u0000c"}'
        status = self._post(_CHAT, body)
        ok = status is not None and (status < 500 or status in DOCUMENTED_5XX)
        return "2xx or 4xx", self._seen(status), ok

    def unknown_fields(self) -> tuple[str, str, bool]:
        fields = {f"f{i}": i for i in range(10_000)}
        body = json.dumps({"conversation_id": "c", "customer_id": "u", "text": "t", **fields})
        with self._http() as http:
            response = http.post(_CHAT, content=body, headers=self._json(self._client))
        errors = len(response.json().get("errors") or [])
        ok = response.status_code == 422 and errors <= 20
        return "422, at most 20 errors listed", f"{response.status_code}, {errors} errors", ok

    def batch_of_50k_invalid_items(self) -> tuple[str, str, bool]:
        body = json.dumps({"messages": [{}] * 50_000}).encode()
        with self._http() as http:
            started = time.monotonic()
            response = http.post(_MESSAGES, content=body, headers=self._json(self._client))
            seconds = time.monotonic() - started
        ok = response.status_code == 422 and len(response.content) < 20_000 and seconds < 2
        observed = f"{response.status_code}, {len(response.content)} bytes in {seconds:.2f}s"
        return "422, small, under 2 s", observed, ok

    def batch_over_500(self) -> tuple[str, str, bool]:
        item = {"conversation_id": "c", "customer_id": "u", "text": "valid text"}
        return self._expect_status(_MESSAGES, json.dumps({"messages": [item] * 501}), {422})

    def nfkc_expansion_bomb(self) -> tuple[str, str, bool]:
        """U+FDFA is one character sent and 18 after NFKC: 4,000 of them are 72,000."""
        text = "\ufdfa" * 4000
        body = {"conversation_id": "c", "customer_id": "u", "text": text}
        chat = self._expect_4xx(_CHAT, json.dumps(body, ensure_ascii=False).encode())
        batch = json.dumps({"messages": [body] * 60}, ensure_ascii=False).encode()
        in_batch = self._expect_4xx(_MESSAGES, batch)
        return "4xx for one and for a batch", f"{chat[1]}, {in_batch[1]}", chat[2] and in_batch[2]

    def duplicate_json_keys(self) -> tuple[str, str, bool]:
        body = b'{"conversation_id": "c", "customer_id": "u", "text": "a", "text": {"x": 1}}'
        return self._expect_4xx(_CHAT, body)

    def wrong_content_type(self) -> tuple[str, str, bool]:
        body = b'{"conversation_id": "c", "customer_id": "u", "text": "hello"}'
        with self._http() as http:
            statuses = [
                http.post(_CHAT, content=body, headers={**self._client, "Content-Type": kind})
                for kind in ("text/plain", "application/x-www-form-urlencoded", "multipart/x")
            ]
        codes = [response.status_code for response in statuses]
        self._note_5xx("wrong_content_type", statuses)
        return "4xx or 2xx", str(codes), all(code < 500 for code in codes)

    # ---- slow clients ----

    def slow_body(self) -> tuple[str, str, bool]:
        """Declares 4 KiB and sends a byte every half second: cut with 408 at the timeout."""
        timeout_s = self._target.body_timeout_s
        trickle: list[bytes | float] = [
            self._head(
                "POST",
                _CHAT,
                [("Content-Length", "4096"), ("Content-Type", "application/json")],
                auth=True,
            )
        ]
        trickle += [b" ", 0.5] * int(2 * (timeout_s + 10))
        response = self._send_until_answered(trickle, timeout_s + 15)
        ok = response.status == 408 and response.seconds < timeout_s + 5
        return f"408 within {timeout_s + 5:g}s", self._seen(response.status, response.seconds), ok

    def slow_headers(self) -> tuple[str, str, bool]:
        """40 connections sending a header line a second for 8 s; others are served meanwhile."""
        stop = threading.Event()
        closed = []

        def trickle_headers() -> None:
            response = raw_http.send(
                self._target.url,
                self._slow_header_lines(stop),
                timeout_s=30,
            )
            closed.append(response.status)

        threads = [threading.Thread(target=trickle_headers, daemon=True) for _ in range(40)]
        for thread in threads:
            thread.start()
        time.sleep(1)
        slowest = 0.0
        try:
            with self._http() as http:
                for _ in range(5):
                    started = time.monotonic()
                    ready = http.get("/readyz")
                    alerts = http.get("/v1/alerts", headers=self._operator)
                    slowest = max(slowest, time.monotonic() - started)
                    if ready.status_code != 200 or alerts.status_code != 200:
                        return "others served", f"{ready.status_code}/{alerts.status_code}", False
                    time.sleep(1)
        finally:
            stop.set()
            for thread in threads:
                thread.join(timeout=35)
        return "others served in < 2 s", f"served, slowest {slowest:.2f}s", slowest < 2

    def _slow_header_lines(self, stop: threading.Event) -> Iterator[bytes | float]:
        host, port = raw_http.address(self._target.url)
        yield f"GET /v1/alerts HTTP/1.1\r\nHost: {host}:{port}\r\n".encode()
        for i in range(8):
            if stop.is_set():
                break
            yield f"X-Slow-{i}: {'a' * 10}\r\n".encode()
            yield 1.0
        yield b"\r\n"

    # ---- headers and framing ----

    def huge_header(self) -> tuple[str, str, bool]:
        """h11 bounds the headers it buffers: a 100 KB header read in one go may be served,
        a 4 MB one never is."""
        seen = [
            self._raw("GET", "/v1/alerts", [("X-Junk", "a" * size)], auth=True).status
            for size in (100_000, 4_000_000)
        ]
        ok = (seen[0] is None or seen[0] < 500) and seen[1] in CLOSED_OR_CLIENT_ERROR
        return "100 KB: no 5xx; 4 MB: 4xx or closed", str(seen), ok

    def many_headers(self) -> tuple[str, str, bool]:
        headers = [(f"X-Junk-{i}", "v") for i in range(5_000)]
        response = self._raw("GET", "/v1/alerts", headers, auth=True)
        ok = response.status in CLOSED_OR_CLIENT_ERROR or response.status == 200
        return "4xx, closed, or served", self._seen(response.status), ok

    def invalid_header_name(self) -> tuple[str, str, bool]:
        response = self._raw("GET", "/v1/alerts", [("X Bad(Name)", "v")], auth=True)
        return (
            "4xx or closed",
            self._seen(response.status),
            response.status in (CLOSED_OR_CLIENT_ERROR),
        )

    def non_utf8_header_values(self) -> tuple[str, str, bool]:
        """Latin-1 bytes in the key and the Idempotency-Key: unknown key, refused key."""
        seen = []
        for name in ("X-API-Key", "Authorization", "Idempotency-Key", "Last-Event-ID"):
            value = "Bearer \xff\xfe" if name == "Authorization" else "\xff\xfe\xe9"
            headers = [(name, value), ("Content-Type", "application/json")]
            response = self._raw(
                "POST" if name == "Idempotency-Key" else "GET",
                _CHAT if name == "Idempotency-Key" else "/v1/alerts/stream",
                headers,
                body=b'{"conversation_id": "c", "customer_id": "u", "text": "t"}',
                auth=name in ("Idempotency-Key", "Last-Event-ID"),
            )
            seen.append(response.status)
        ok = all(status in CLOSED_OR_CLIENT_ERROR for status in seen)
        return "4xx for each", str(seen), ok

    def control_chars_in_idempotency_key(self) -> tuple[str, str, bool]:
        response = self._raw(
            "POST",
            _CHAT,
            [("Idempotency-Key", "key\x01\x7fend"), ("Content-Type", "application/json")],
            body=b'{"conversation_id": "c", "customer_id": "u", "text": "t"}',
            auth=True,
        )
        return (
            "4xx or closed",
            self._seen(response.status),
            response.status in (CLOSED_OR_CLIENT_ERROR),
        )

    def content_length_and_chunked(self) -> tuple[str, str, bool]:
        """Both framings at once, the request-smuggling shape. RFC 9112: refuse it, or read it
        as chunked and close the connection after answering, so nothing left in the stream
        can pass for a second request."""
        body = b'{"conversation_id": "c", "customer_id": "u", "text": "t"}'
        head = self._head(
            "POST",
            _CHAT,
            [
                ("Content-Type", "application/json"),
                ("Content-Length", "4"),
                ("Transfer-Encoding", "chunked"),
            ],
            auth=True,
        )
        framed = b"%x\r\n%s\r\n0\r\n\r\n" % (len(body), body)
        # Well inside uvicorn's 5 s keep-alive timeout, which closes an idle connection anyway.
        response = raw_http.send(self._target.url, [head, framed], wait_for_close_s=2)
        status = response.status
        ok = status is None or (status < 500 and response.closed is True)
        observed = f"{self._seen(status)}, connection {'closed' if response.closed else 'kept'}"
        return "refused, or answered and the connection closed", observed, ok

    def non_numeric_content_length(self) -> tuple[str, str, bool]:
        response = self._raw("POST", _CHAT, [("Content-Length", "12abc")], body=b"{}", auth=True)
        return (
            "4xx or closed",
            self._seen(response.status),
            response.status in (CLOSED_OR_CLIENT_ERROR),
        )

    def huge_url(self) -> tuple[str, str, bool]:
        response = self._raw("GET", "/v1/alerts?topic=" + "a" * 65_536, [], auth=True)
        return (
            "4xx or closed",
            self._seen(response.status),
            response.status in (CLOSED_OR_CLIENT_ERROR),
        )

    def non_utf8_path_and_query(self) -> tuple[str, str, bool]:
        seen = [
            self._raw(method, path, [], auth=True).status
            for method, path in (
                ("POST", "/v1/alerts/%FF%FE%00/ack"),
                ("GET", "/v1/alerts?topic=%FF%FE%C0%AF"),
                ("GET", "/v1/alerts?cursor=%00%FF"),
                ("GET", "/v1/../../etc/passwd"),
            )
        ]
        # A topic that is not valid UTF-8 may be read as U+FFFD and simply match nothing.
        ok = all(status in CLOSED_OR_CLIENT_ERROR or status == 200 for status in seen)
        return "4xx (or 200 with nothing found)", str(seen), ok

    def out_of_range_values(self) -> tuple[str, str, bool]:
        huge = str(2**64)
        queries = [
            {"cursor": huge},
            {"cursor": "-" + huge},
            {"limit": huge},
            {"opened_after": "9999-12-31T23:59:59-23:59"},
            {"opened_before": "0001-01-01T00:00:00+23:59"},
            {"opened_after": "1e400"},
        ]
        with self._http() as http:
            responses = [http.get("/v1/alerts", params=q, headers=self._operator) for q in queries]
            responses += [
                self._stream_status(http, self._operator, {"after": str(2**63)}),
                self._stream_status(http, {**self._operator, "Last-Event-ID": huge}),
            ]
        codes = [response.status_code for response in responses]
        self._note_5xx("out_of_range_numbers_and_times", responses)
        return "4xx for each", str(codes), all(400 <= code < 500 for code in codes)

    # ---- streams ----

    def streams_over_the_caps(self) -> tuple[str, str, bool]:
        """Each operator key opens its cap + 2 streams at once: as many as the caps allow open,
        every other one is refused at once (429 at the gateway's caps, or 503 + Retry-After
        at the alert service's own bound), unary calls still answer while all are open, and
        once they are closed a new stream opens again.

        The keys' rate limits are not what this measures, so it starts once an operator key's
        burst has refilled (the earlier attacks may have used it up), and an answer that was
        rate limited all the same is reported as such, not as a cap."""
        time.sleep(self._operator_refill_s())
        target = self._target
        keys = [target.operator_key, *target.extra_operator_keys]
        attempts = len(keys) * (target.max_streams_per_key + 2)
        answers: list[httpx.Response] = []
        lock = threading.Lock()
        with ExitStack() as streams, httpx.Client(base_url=target.url, timeout=30) as http:

            def open_stream(key: str) -> None:
                response = streams.enter_context(
                    http.stream("GET", "/v1/alerts/stream", headers={"X-API-Key": key})
                )
                if response.status_code != 200:
                    response.read()  # a refusal's problem body says which limit refused it
                with lock:
                    answers.append(response)

            threads = [
                threading.Thread(target=open_stream, args=(key,))
                for key in keys
                for _ in range(target.max_streams_per_key + 2)
            ]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            with httpx.Client(base_url=target.url, timeout=10) as other:
                unary_answers = [
                    other.get("/readyz"),
                    other.get("/v1/alerts", headers=self._operator),
                    other.post(
                        _CHAT,
                        json={"conversation_id": "c", "customer_id": "u", "text": "hello"},
                        headers=self._client,
                    ),
                ]
        unary = [answer.status_code for answer in unary_answers]
        rate_limited = [a for a in [*answers, *unary_answers] if _is_rate_limited(a)]
        if rate_limited:
            observed = f"{len(rate_limited)} answers rate limited: the key's burst is too small"
            return "caps, not rate limits, refuse streams", observed, False
        statuses = [answer.status_code for answer in answers]
        refused_at_once = [
            answer
            for answer in answers
            if answer.status_code == 429
            or (answer.status_code == 503 and "retry-after" in answer.headers)
        ]
        self._note_5xx("alert_streams_over_the_caps", answers)
        allowed = min(len(keys) * target.max_streams_per_key, target.max_streams)
        time.sleep(1)  # the gateway notices the closed connections
        with self._http() as http:
            reopened = self._stream_status(http, self._operator).status_code
        opened = statuses.count(200)
        ok = (
            opened == allowed
            and len(refused_at_once) == attempts - allowed
            and unary == [200, 200, 200]
            and reopened == 200
        )
        observed = (
            f"{opened} open, {statuses.count(429)} refused 429, {statuses.count(503)} 503"
            f" (of {attempts}); unary {unary}; reopened {reopened}"
        )
        return f"{allowed} open, the rest 429/503; unary 200; reopens", observed, ok

    def _operator_refill_s(self) -> float:
        """How long an operator key's rate limit takes to refill its burst: from the target's
        settings, else the gateway's defaults."""
        fields = GatewaySettings.model_fields
        settings = self._target.settings
        rate = settings.get("GATEWAY_OPERATOR_RATE_PER_S", fields["operator_rate_per_s"].default)
        burst = settings.get("GATEWAY_OPERATOR_BURST", fields["operator_burst"].default)
        return float(burst) / float(rate)

    # ---- plumbing ----

    def _gateway_serves(self) -> bool:
        if self._target.gateway_pid is not None and not alive(self._target.gateway_pid):
            return False
        try:
            with self._http() as http:
                return http.get("/healthz", timeout=10).status_code == 200
        except httpx.HTTPError:
            return False

    def _http(self) -> httpx.Client:
        return httpx.Client(base_url=self._target.url, timeout=30)

    def _json(self, headers: dict[str, str]) -> dict[str, str]:
        return {**headers, "Content-Type": "application/json"}

    def _post(self, path: str, body: bytes) -> int:
        with self._http() as http:
            response = http.post(path, content=body, headers=self._json(self._client))
        self._note_5xx(path, [response])
        return response.status_code

    def _expect_4xx(self, path: str, body: bytes) -> tuple[str, str, bool]:
        started = time.monotonic()
        status = self._post(path, body)
        seconds = time.monotonic() - started
        return "4xx", self._seen(status, seconds), 400 <= status < 500

    def _expect_status(self, path: str, body: str, statuses: set[int]) -> tuple[str, str, bool]:
        status = self._post(path, body.encode())
        return "/".join(map(str, sorted(statuses))), self._seen(status), status in statuses

    def _stream_status(
        self, http: httpx.Client, headers: dict[str, str], params: dict[str, str] | None = None
    ) -> httpx.Response:
        """The head of a stream's answer; the stream itself is closed at once."""
        with http.stream("GET", "/v1/alerts/stream", headers=headers, params=params) as response:
            return response

    def _head(
        self,
        method: str,
        path: str,
        headers: list[tuple[str, str]],
        auth: bool = False,
        role: str = "client",
    ) -> bytes:
        key = self._target.client_key if role == "client" else self._target.operator_key
        if auth:
            headers = [("X-API-Key", key), *headers]
        return raw_http.request_head(method, path, self._target.url, headers)

    def _raw(
        self,
        method: str,
        path: str,
        headers: list[tuple[str, str]],
        body: bytes = b"",
        auth: bool = False,
        role: str | None = None,
    ) -> raw_http.RawResponse:
        if role is None:
            role = "operator" if path.startswith("/v1/alerts") else "client"
        if body and not any(
            name.lower() in ("content-length", "transfer-encoding") for name, _ in headers
        ):
            headers = [*headers, ("Content-Length", str(len(body)))]
        head = self._head(method, path, headers, auth=auth, role=role)
        response = raw_http.send(self._target.url, [head, body] if body else [head])
        status = response.status
        documented = status in DOCUMENTED_5XX and b"retry-after" in response.head.lower()
        if status is not None and status >= 500 and not documented:
            self.report.server_errors.append(f"{method} {path[:60]}: {status}")
        return response

    def _send_until_answered(
        self, chunks: list[bytes | float], timeout_s: float
    ) -> raw_http.RawResponse:
        """Sends until the server answers (or closes), which a slow body waits for."""
        return raw_http.send_while_open(self._target.url, chunks, timeout_s)

    def _note_5xx(self, what: str, responses: list[httpx.Response]) -> None:
        for response in responses:
            status = response.status_code
            if status >= 500 and not (
                status in DOCUMENTED_5XX and "retry-after" in response.headers
            ):
                self.report.server_errors.append(f"{what}: {status}")

    @staticmethod
    def _seen(status: int | None, seconds: float | None = None) -> str:
        text = "closed without an answer" if status is None else str(status)
        return text if seconds is None else f"{text} after {seconds:.1f}s"


def _is_rate_limited(response: httpx.Response) -> bool:
    """A 429 from the key's rate limit (not from a cap): its problem type says so."""
    if response.status_code != 429:
        return False
    try:
        return str(response.json().get("type", "")).endswith("rate-limited")
    except ValueError:
        return False
