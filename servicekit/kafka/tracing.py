"""Producer spans from the maintained kafka-python instrumentation, with CarePulse's ids added.

KafkaInstrumentor wraps KafkaProducer.send: it starts a "<topic> send" PRODUCER span, injects
its W3C context into the record's headers and sets the system, topic, partition and bootstrap
servers (messaging.url) — never the key or value. The hook below adds the message id and the
key's pseudonym: keys are conversation or customer ids, which no span may carry raw.

Its consumer side wraps KafkaConsumer.__next__, which the ConsumerLoop never calls (it polls
batches), so the consumer span is our own (consumer.py).
"""

from collections.abc import Sequence
from typing import Any

from opentelemetry.instrumentation.kafka import KafkaInstrumentor
from opentelemetry.semconv._incubating.attributes.messaging_attributes import (
    MESSAGING_DESTINATION_NAME,
    MESSAGING_KAFKA_MESSAGE_KEY,
    MESSAGING_MESSAGE_ID,
    MESSAGING_OPERATION_TYPE,
    MESSAGING_SYSTEM,
    MessagingOperationTypeValues,
    MessagingSystemValues,
)
from opentelemetry.trace import Span

from servicekit.kafka.headers import MESSAGE_ID, headers_as_dict
from servicekit.pseudonym import Pseudonymizer


def instrument_kafka_client() -> None:
    """Trace every record sent from this process; calling it again changes nothing."""
    instrumentor = KafkaInstrumentor()  # a singleton: it knows whether it is in place
    if instrumentor.is_instrumented_by_opentelemetry:
        return
    # A kafka-python outside the instrumentation's supported range fails here, loudly, rather
    # than leaving every record without trace context.
    instrumentor.instrument(
        produce_hook=_SendSpanAttributes(Pseudonymizer.from_environment()),
        raise_exception_on_conflict=True,
    )


class _SendSpanAttributes:
    """The instrumentation's produce_hook: runs inside the send span, before the send."""

    def __init__(self, pseudonymize: Pseudonymizer) -> None:
        self._pseudonymize = pseudonymize

    def __call__(self, span: Span, args: Sequence[Any], kwargs: dict[str, Any]) -> None:
        if not span.is_recording():
            return
        # KafkaProducer.send(topic, value=None, key=None, headers=None, ...)
        topic = _argument("topic", 0, args, kwargs)
        key = _argument("key", 2, args, kwargs)
        headers = headers_as_dict(_argument("headers", 3, args, kwargs))
        # The instrumentation sets its attributes only once the send returned, so a refused
        # send's span would not say where it went, and under the 1.11 schema's names
        # (messaging.destination): these are today's, as on the consumer span.
        span.set_attribute(MESSAGING_SYSTEM, MessagingSystemValues.KAFKA.value)
        span.set_attribute(MESSAGING_DESTINATION_NAME, topic)
        span.set_attribute(MESSAGING_OPERATION_TYPE, MessagingOperationTypeValues.SEND.value)
        if headers.get(MESSAGE_ID):
            span.set_attribute(MESSAGING_MESSAGE_ID, headers[MESSAGE_ID])
        if key is not None:
            key_text = key.decode("utf-8", errors="replace")
            span.set_attribute(MESSAGING_KAFKA_MESSAGE_KEY, self._pseudonymize(key_text))


def _argument(name: str, position: int, args: Sequence[Any], kwargs: dict[str, Any]) -> Any:
    return args[position] if len(args) > position else kwargs.get(name)
