"""A message's path through Kafka, and an alert's evidence, as an operator follows them in
Zipkin: producer spans in the message's trace, consumer spans linking back to them (the
collector writes each link as a tag `otlp.link.<i>`)."""

from typing import Any

import pytest

from tests.observability.backend_api import (
    Span,
    eventually,
    service,
    span_links,
    zipkin_spans,
    zipkin_trace,
)
from tests.observability.observed_stack import ObservedStack
from tests.observability.traffic import Traffic

pytestmark = pytest.mark.integration

MESSAGE_ID = "messaging.message.id"


def _sent(trace: list[Span], service_name: str, topic: str, message_id: str) -> Span | None:
    """The span in which `service_name` sent `message_id` to `topic`."""
    return next(
        (
            span
            for span in trace
            if service(span) == service_name
            and span["name"] == f"{topic} send"
            and span.get("kind") == "PRODUCER"
            and span.get("tags", {}).get(MESSAGE_ID) == message_id
        ),
        None,
    )


def _ingest_send(observed: ObservedStack, traffic: Traffic, message_id: str) -> Span | None:
    spans = zipkin_spans(
        observed.zipkin,
        traffic.started_s,
        serviceName="ingest",
        spanName="messages.raw send",
        annotationQuery=f"{MESSAGE_ID}={message_id}",
    )
    return _sent(spans, "ingest", "messages.raw", message_id)


def test_a_chat_message_path_is_one_trace_from_the_gateway_to_classify_output(
    observed: ObservedStack, traffic: Traffic
) -> None:
    message_id = traffic.chat["message_id"]
    send = eventually(
        lambda: _ingest_send(observed, traffic, message_id), 60, "ingest's messages.raw send"
    )

    def classified() -> tuple[list[Span], Span] | None:
        trace = zipkin_trace(observed.zipkin, send["traceId"])
        span = _sent(trace, "classify", "messages.classified", message_id)
        return (trace, span) if span else None

    trace, classify_send = eventually(classified, 60, "classify's send in the message's trace")
    # Classify sends the classified message as the next step of the message's own trace.
    assert classify_send["parentId"] == send["id"]
    roots = [span for span in trace if "parentId" not in span]
    assert [(service(r), r["name"]) for r in roots] == [("gateway", "post /v1/chat")]


@pytest.mark.parametrize(
    ("consumer", "topic"),
    [
        ("classify", "messages.raw"),
        ("recommend", "messages.classified"),
        ("alert", "messages.classified"),
    ],
)
def test_each_consumer_span_of_a_message_links_back_to_its_ingest_producer_trace(
    observed: ObservedStack, traffic: Traffic, consumer: str, topic: str
) -> None:
    message_id = traffic.chat["message_id"]
    send = eventually(
        lambda: _ingest_send(observed, traffic, message_id), 60, "ingest's messages.raw send"
    )

    def links_to_the_message() -> list[Any]:
        spans = zipkin_spans(
            observed.zipkin, traffic.started_s, serviceName=consumer, spanName=f"{topic} process"
        )
        return [
            (span, link)
            for span in spans
            if span.get("kind") == "CONSUMER"
            for link in span_links(span)
            if link.attributes.get(MESSAGE_ID) == message_id
        ]

    found = eventually(links_to_the_message, 60, f"{consumer}'s {topic} process linking to it")
    for span, link in found:
        assert link.trace_id == send["traceId"], f"{consumer} links to another trace"
        assert link.attributes["messaging.destination.partition.id"].isdigit()
        assert isinstance(link.attributes["messaging.kafka.offset"], int)
        # A batch span serves many traces: it is the root of its own, never a child of one.
        assert span["traceId"] != send["traceId"]
    if consumer == "classify":  # it read what ingest sent: the link names that very span
        assert {link.span_id for _, link in found} == {send["id"]}


def test_the_alert_points_to_traces_that_hold_its_example_messages(
    observed: ObservedStack, traffic: Traffic
) -> None:
    examples = traffic.alert["evidence"]["example_traces"]
    assert examples, traffic.alert["evidence"]
    for example in examples:

        def evidence_trace(example: dict[str, str] = example) -> list[Span] | None:
            trace = zipkin_trace(observed.zipkin, example["trace_id"])
            has_send = _sent(trace, "ingest", "messages.raw", example["message_id"])
            return trace if has_send and any(s["id"] == example["span_id"] for s in trace) else None

        eventually(evidence_trace, 60, f"the trace of example {example['message_id']}")

    alert_id = traffic.alert["alert_id"]

    def openings() -> list[Span]:
        spans = zipkin_spans(
            observed.zipkin,
            traffic.started_s,
            serviceName="alert",
            spanName="alert open",
            annotationQuery=f"alert.id={alert_id}",
        )
        return [s for s in spans if s["name"] == "alert open"]

    expected = {(e["trace_id"], e["span_id"]) for e in examples}
    # A transaction retried after a failure opens the alert again, with the same examples.
    for opening in eventually(openings, 60, "the span that opened the alert"):
        assert {(link.trace_id, link.span_id) for link in span_links(opening)} == expected
