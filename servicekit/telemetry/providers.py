"""The SDK's tracer, meter and logger providers of a process, set up once and shut down once."""

import logging
import os
from dataclasses import dataclass
from pathlib import Path

from opentelemetry import metrics, trace
from opentelemetry._logs import set_logger_provider
from opentelemetry.exporter.otlp.proto.grpc._log_exporter import OTLPLogExporter
from opentelemetry.exporter.otlp.proto.grpc.metric_exporter import OTLPMetricExporter
from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
from opentelemetry.instrumentation.logging.handler import LoggingHandler
from opentelemetry.sdk._logs import LoggerProvider
from opentelemetry.sdk._logs.export import BatchLogRecordProcessor
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import MetricReader, PeriodicExportingMetricReader
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor

from servicekit.telemetry.exporters import exports_otlp
from servicekit.telemetry.libraries import instrument_libraries
from servicekit.telemetry.resource import service_resource
from servicekit.telemetry.span_file import JsonLinesSpanExporter


@dataclass(frozen=True)
class TelemetryHandle:
    tracer_provider: TracerProvider
    meter_provider: MeterProvider
    logger_provider: LoggerProvider
    # On the root logger while logs are exported over OTLP.
    log_handler: logging.Handler | None

    def shutdown(self) -> None:
        """Flush every exporter and stop; call once, on the way out."""
        self.tracer_provider.shutdown()
        self.meter_provider.shutdown()
        # Logs last, so that what the other providers log while they stop is still exported.
        if self.log_handler is not None:
            logging.getLogger().removeHandler(self.log_handler)
        self.logger_provider.shutdown()


def setup_telemetry(service: str) -> TelemetryHandle:
    """Traces, metrics and logs of this process, exported as the OTEL_* variables say.

    Call it once, right after configure_logging, which replaces the root logger's handlers.
    """
    resource = service_resource(service)
    tracer_provider = _tracer_provider(resource)
    readers: list[MetricReader] = []
    if exports_otlp("metrics"):
        readers.append(PeriodicExportingMetricReader(OTLPMetricExporter()))
    meter_provider = MeterProvider(resource=resource, metric_readers=readers)
    logger_provider = LoggerProvider(resource=resource)
    log_handler = None
    if exports_otlp("logs"):
        logger_provider.add_log_record_processor(BatchLogRecordProcessor(OTLPLogExporter()))
        log_handler = LoggingHandler(logger_provider=logger_provider)
        logging.getLogger().addHandler(log_handler)
    trace.set_tracer_provider(tracer_provider)
    metrics.set_meter_provider(meter_provider)
    set_logger_provider(logger_provider)
    instrument_libraries()
    return TelemetryHandle(tracer_provider, meter_provider, logger_provider, log_handler)


def _tracer_provider(resource: Resource) -> TracerProvider:
    provider = TracerProvider(resource=resource)
    if exports_otlp("traces"):
        provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    traces_file = os.environ.get("CAREPULSE_TRACES_FILE")
    if traces_file:
        # Written as each span ends: a test reads it while the process still runs.
        provider.add_span_processor(SimpleSpanProcessor(JsonLinesSpanExporter(Path(traces_file))))
    return provider
