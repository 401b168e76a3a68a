"""setup_telemetry: what the process says it is, and where each signal goes, from OTEL_*."""

import json
import logging
from collections.abc import Callable, Iterator, Sequence
from importlib.metadata import version
from pathlib import Path
from typing import Any

import pytest
from opentelemetry import metrics, trace
from opentelemetry._logs import _internal as logs_internal
from opentelemetry.metrics import _internal as metrics_internal
from opentelemetry.sdk._logs.export import InMemoryLogRecordExporter
from opentelemetry.sdk.metrics.export import MetricExporter, MetricExportResult, MetricsData
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.util._once import Once

from servicekit.telemetry import TelemetryHandle, exporters, providers, setup_telemetry
from servicekit.telemetry.exporters import exports_otlp
from servicekit.telemetry.resource import service_resource

OTEL_VARIABLES = (
    "OTEL_SERVICE_NAME",
    "OTEL_RESOURCE_ATTRIBUTES",
    "OTEL_EXPORTER_OTLP_ENDPOINT",
    "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
    "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT",
    "OTEL_EXPORTER_OTLP_LOGS_ENDPOINT",
    "OTEL_TRACES_EXPORTER",
    "OTEL_METRICS_EXPORTER",
    "OTEL_LOGS_EXPORTER",
    "CAREPULSE_VERSION",
    "CAREPULSE_TRACES_FILE",
)


class InMemoryMetricExporter(MetricExporter):
    """Keeps what it is given; the SDK ships an in-memory reader, not an exporter."""

    def __init__(self) -> None:
        super().__init__()
        self.exported: list[MetricsData] = []

    def export(
        self, metrics_data: MetricsData, timeout_millis: float = 10_000, **_: Any
    ) -> MetricExportResult:
        self.exported.append(metrics_data)
        return MetricExportResult.SUCCESS

    def force_flush(self, timeout_millis: float = 10_000) -> bool:
        return True

    def shutdown(self, timeout_millis: float = 30_000, **_: Any) -> None:
        return None

    def metric_names(self) -> set[str]:
        return {
            metric.name
            for data in self.exported
            for resource_metrics in data.resource_metrics
            for scope_metrics in resource_metrics.scope_metrics
            for metric in scope_metrics.metrics
        }


class StandIns:
    """The SDK's in-memory exporters, standing in for the OTLP ones setup_telemetry builds."""

    def __init__(self) -> None:
        self.spans = InMemorySpanExporter()
        self.metrics = InMemoryMetricExporter()
        self.logs = InMemoryLogRecordExporter()  # type: ignore[no-untyped-call]
        self.instrumented = 0


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in OTEL_VARIABLES:
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def otlp(monkeypatch: pytest.MonkeyPatch) -> StandIns:
    """OTLP exporters replaced by in-memory ones, and the global providers as in a new process
    (restored afterwards, as opentelemetry-test-utils does), so each test sets them anew."""
    stand_ins = StandIns()
    monkeypatch.setattr(providers, "OTLPSpanExporter", lambda: stand_ins.spans)
    monkeypatch.setattr(providers, "OTLPMetricExporter", lambda: stand_ins.metrics)
    monkeypatch.setattr(providers, "OTLPLogExporter", lambda: stand_ins.logs)

    def count_instrumentation() -> None:
        # The real call binds process-wide instrumentation to this test's providers for good.
        stand_ins.instrumented += 1

    monkeypatch.setattr(providers, "instrument_libraries", count_instrumentation)
    for module, name in (
        (trace, "_TRACER_PROVIDER"),
        (metrics_internal, "_METER_PROVIDER"),
        (logs_internal, "_LOGGER_PROVIDER"),
    ):
        monkeypatch.setattr(module, f"{name}_SET_ONCE", Once())
        monkeypatch.setattr(module, name, None)
    return stand_ins


@pytest.fixture
def start() -> Iterator[Callable[[], TelemetryHandle]]:
    """setup_telemetry("ingest"); afterwards the root logger has its handlers back."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    root.setLevel(logging.INFO)
    yield lambda: setup_telemetry("ingest")
    root.handlers[:] = handlers
    root.setLevel(level)


def test_the_resource_names_service_namespace_version_and_a_local_environment() -> None:
    attributes = service_resource("classify").attributes

    assert attributes["service.name"] == "classify"
    assert attributes["service.namespace"] == "carepulse"
    assert attributes["service.version"] == version("carepulse")
    assert attributes["deployment.environment"] == "local"


def test_otel_variables_override_the_resource_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OTEL_SERVICE_NAME", "classify-canary")
    monkeypatch.setenv(
        "OTEL_RESOURCE_ATTRIBUTES", "deployment.environment=production,k8s.pod.name=classify-0"
    )
    monkeypatch.setenv("CAREPULSE_VERSION", "1.4.2")  # what an image says

    attributes = service_resource("classify").attributes

    assert attributes["service.name"] == "classify-canary"
    assert attributes["deployment.environment"] == "production"
    assert attributes["k8s.pod.name"] == "classify-0"
    assert attributes["service.version"] == "1.4.2"
    assert attributes["service.namespace"] == "carepulse"


@pytest.mark.parametrize(
    ("environment", "expected"),
    [
        ({}, {"traces": False, "metrics": False, "logs": False}),
        (
            {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4317"},
            {"traces": True, "metrics": True, "logs": False},
        ),
        (
            {"OTEL_EXPORTER_OTLP_METRICS_ENDPOINT": "http://collector:4317"},
            {"traces": False, "metrics": True, "logs": False},
        ),
        (
            {
                "OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4317",
                "OTEL_TRACES_EXPORTER": "none",
                "OTEL_LOGS_EXPORTER": "otlp",
            },
            {"traces": False, "metrics": True, "logs": True},
        ),
        ({"OTEL_METRICS_EXPORTER": "otlp"}, {"traces": False, "metrics": True, "logs": False}),
    ],
)
def test_each_signal_exports_over_otlp_as_the_environment_says(
    monkeypatch: pytest.MonkeyPatch, environment: dict[str, str], expected: dict[str, bool]
) -> None:
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    signals: Sequence[exporters.Signal] = ("traces", "metrics", "logs")

    assert {signal: exports_otlp(signal) for signal in signals} == expected


def test_an_exporter_the_project_does_not_ship_stops_the_process(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("OTEL_METRICS_EXPORTER", "prometheus")

    with pytest.raises(ValueError, match="OTEL_METRICS_EXPORTER"):
        exports_otlp("metrics")


def test_spans_and_metrics_go_out_over_otlp_with_the_service_resource(
    otlp: StandIns, start: Callable[[], TelemetryHandle], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4317")
    telemetry = start()

    # Through the global providers, as the instrumentation packages record.
    with trace.get_tracer("test").start_as_current_span("publish"):
        metrics.get_meter("test").create_counter("test.published").add(1)
    telemetry.shutdown()

    [span] = otlp.spans.get_finished_spans()
    assert span.name == "publish"
    assert span.resource.attributes["service.name"] == "ingest"
    assert "test.published" in otlp.metrics.metric_names()
    assert otlp.instrumented == 1


def test_no_telemetry_leaves_the_process_without_an_otlp_endpoint(
    otlp: StandIns, start: Callable[[], TelemetryHandle]
) -> None:
    telemetry = start()

    with trace.get_tracer("test").start_as_current_span("publish"):
        metrics.get_meter("test").create_counter("test.published").add(1)
        logging.getLogger("test").warning("published")
    telemetry.shutdown()

    assert otlp.spans.get_finished_spans() == ()
    assert otlp.metrics.exported == []
    assert otlp.logs.get_finished_logs() == ()


def test_log_records_go_out_over_otlp_with_their_trace_context_when_asked(
    otlp: StandIns, start: Callable[[], TelemetryHandle], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OTEL_LOGS_EXPORTER", "otlp")
    telemetry = start()

    with trace.get_tracer("test").start_as_current_span("publish") as span:
        logging.getLogger("servicekit.test").warning("published", extra={"topic": "feedback"})
    telemetry.shutdown()

    [exported] = otlp.logs.get_finished_logs()
    record = exported.log_record
    assert record.body == "published"
    assert record.severity_text == "WARN"
    assert record.attributes is not None and record.attributes["topic"] == "feedback"
    assert record.trace_id == span.get_span_context().trace_id
    assert exported.resource.attributes["service.name"] == "ingest"
    assert telemetry.log_handler not in logging.getLogger().handlers


def test_the_traces_file_gets_each_span_as_it_ends(
    otlp: StandIns,
    start: Callable[[], TelemetryHandle],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    traces_file = tmp_path / "traces" / "ingest.jsonl"
    monkeypatch.setenv("CAREPULSE_TRACES_FILE", str(traces_file))
    telemetry = start()

    with trace.get_tracer("test").start_as_current_span("publish"):
        pass
    lines = traces_file.read_text().splitlines()  # before shutdown: no batching
    telemetry.shutdown()

    assert [json.loads(line)["name"] for line in lines] == ["publish"]
