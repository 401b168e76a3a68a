"""The client libraries every service may use, instrumented once per process by their packages.

httpx: every client (the alert's webhooks and Alertmanager). kafka-python: every record sent
(servicekit.kafka.tracing). SQLAlchemy engines are traced where they are built
(servicekit.database).
"""

import httpx
from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor, RequestInfo
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.semconv._incubating.attributes.http_attributes import HTTP_URL
from opentelemetry.semconv.attributes.url_attributes import URL_FULL
from opentelemetry.trace import Span

from servicekit.kafka.tracing import instrument_kafka_client


def instrument_libraries() -> None:
    """Calling it again changes nothing."""
    httpx_instrumentor = HTTPXClientInstrumentor()  # each instrumentor is a singleton
    if not httpx_instrumentor.is_instrumented_by_opentelemetry:
        httpx_instrumentor.instrument(request_hook=keep_url_origin)
    instrument_kafka_client()


def keep_url_origin(span: Span, request: RequestInfo) -> None:
    """Own code because the package redacts only credentials and a few query keys from the URL,
    while a webhook URL often carries its secret in the path (Slack, Teams): keep the origin."""
    if not isinstance(span, ReadableSpan) or span.attributes is None:
        return  # only an SDK span that records has attributes to rewrite
    url = request.url
    assert isinstance(url, httpx.URL)  # httpx >= 0.20 hands the transport a Request
    origin = f"{url.scheme}://{url.netloc.decode('ascii')}"
    for key in (HTTP_URL, URL_FULL):  # the old and the stable HTTP conventions
        if key in span.attributes:
            span.set_attribute(key, origin)
