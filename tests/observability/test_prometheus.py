"""Prometheus' rules and configuration pass promtool; every query in them and in the dashboards
parses, and selects only metrics something exports."""

import re
from pathlib import Path

import pytest
import yaml

from local.observability.prometheus import prometheus_config
from local.stack import StackPorts
from observability.metrics import EXPORTED, base_name
from tests.observability.promql import (
    OBSERVABILITY,
    RULES_DIR,
    Expression,
    dashboard_expressions,
    metric_names,
    parseable,
    recorded_names,
    rule_expressions,
    rule_files,
    rules,
    run_promtool,
)

SOURCES = ("servicekit", "gateway", "services")


def test_promtool_accepts_every_rule_file() -> None:
    result = run_promtool("check", "rules", *map(str, rule_files()))
    assert result.returncode == 0, result.stdout + result.stderr


def test_promtool_accepts_the_cluster_config_with_its_rules(tmp_path: Path) -> None:
    config = yaml.safe_load((OBSERVABILITY / "prometheus" / "prometheus.yml").read_text())
    assert config["rule_files"] == ["/etc/prometheus/rules/*.rules.yml"]  # the ConfigMap's mount
    config["rule_files"] = [str(RULES_DIR / "*.rules.yml")]
    path = tmp_path / "prometheus.yml"
    path.write_text(yaml.safe_dump(config))
    result = run_promtool("check", "config", str(path))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS: 2 rule files found" in result.stdout


def test_promtool_accepts_the_local_config_and_it_scrapes_the_cluster_jobs(
    tmp_path: Path,
) -> None:
    local = prometheus_config(
        StackPorts(),
        collector_metrics_port=8889,
        collector_telemetry_port=8888,
        prometheus_port=9090,
        alertmanager_port=9095,
    )
    path = tmp_path / "prometheus.yml"
    path.write_text(yaml.safe_dump(local))
    result = run_promtool("check", "config", str(path))
    assert result.returncode == 0, result.stdout + result.stderr
    cluster = yaml.safe_load((OBSERVABILITY / "prometheus" / "prometheus.yml").read_text())
    jobs = [c["job_name"] for c in local["scrape_configs"]]
    assert sorted(jobs) == sorted(c["job_name"] for c in cluster["scrape_configs"])


def test_every_dashboard_query_parses_with_prometheus_own_parser(tmp_path: Path) -> None:
    """Each query becomes a recording rule, so `promtool check rules` parses it."""
    expressions = dashboard_expressions()
    assert len(expressions) > 30
    rules = [
        {"record": f"dashboard:query_{i}:parse", "expr": parseable(e.expr)}
        for i, e in enumerate(expressions)
    ]
    path = tmp_path / "dashboards.rules.yml"
    path.write_text(yaml.safe_dump({"groups": [{"name": "dashboards", "rules": rules}]}))
    result = run_promtool("check", "rules", str(path))
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_parse_check_rejects_a_broken_query(tmp_path: Path) -> None:
    path = tmp_path / "broken.rules.yml"
    rule = {"record": "x:y:z", "expr": "sum by (job (rate(up[5m]))"}
    path.write_text(yaml.safe_dump({"groups": [{"name": "g", "rules": [rule]}]}))
    assert run_promtool("check", "rules", str(path)).returncode != 0


def _unknown(expression: Expression) -> set[str]:
    known = set(EXPORTED) | recorded_names()
    return {n for n in metric_names(expression.expr) if base_name(n) not in known}


def test_no_panel_or_rule_selects_a_metric_nobody_exports() -> None:
    unknown = {e.where: _unknown(e) for e in dashboard_expressions() + rule_expressions()}
    assert not {where: names for where, names in unknown.items() if names}


def test_the_catalogue_names_every_metric_the_code_defines_and_no_other() -> None:
    root = OBSERVABILITY.parent
    defined = set()
    for source in SOURCES:
        for path in (root / source).rglob("*.py"):
            defined |= set(
                re.findall(
                    r"(?:Counter|Gauge|Histogram|Summary)\(\s*\"(carepulse_\w+)\"",
                    path.read_text(),
                )
            )
    catalogued = {name for name in EXPORTED if name.startswith("carepulse_")}
    assert defined == catalogued


def test_chat_availability_pages_on_a_fast_burn_and_not_on_a_slow_one(tmp_path: Path) -> None:
    """promtool's rule unit tests: 9% errors burn 18x the 0.5% budget; 1% burns 2x."""
    chat = 'carepulse_gateway_requests_total{route="/v1/chat", method="POST", status="%s"}'
    tests = {
        "rule_files": [str(RULES_DIR / "recording.rules.yml"), str(RULES_DIR / "alerts.rules.yml")],
        "evaluation_interval": "1m",
        "tests": [
            {
                "interval": "1m",
                "input_series": [
                    {"series": chat % "200", "values": "0+100x90"},
                    {"series": chat % "503", "values": "0+10x90"},
                ],
                "alert_rule_test": [
                    {
                        "eval_time": "70m",
                        "alertname": "ChatAvailabilityBudgetBurn",
                        "exp_alerts": [
                            {
                                "exp_labels": {"severity": "page", "slo": "chat-availability"},
                                "exp_annotations": _annotations("ChatAvailabilityBudgetBurn"),
                            }
                        ],
                    }
                ],
            },
            {
                "interval": "1m",
                "input_series": [
                    {"series": chat % "200", "values": "0+100x90"},
                    {"series": chat % "500", "values": "0+1x90"},
                ],
                "alert_rule_test": [
                    {
                        "eval_time": "70m",
                        "alertname": "ChatAvailabilityBudgetBurn",
                        "exp_alerts": [],
                    }
                ],
            },
        ],
    }
    path = tmp_path / "slo.test.yml"
    path.write_text(yaml.safe_dump(tests))
    result = run_promtool("test", "rules", str(path))
    assert result.returncode == 0, result.stdout + result.stderr


def test_consumer_stalled_fires_while_records_wait_unconsumed_and_not_while_consumed(
    tmp_path: Path,
) -> None:
    """promtool's rule unit tests: lag held at 50 with the consumed counter flat for 25 minutes
    fires (10 to notice, 10 `for`); the same lag while records keep being consumed does not."""
    lag = 'carepulse_kafka_consumer_lag{job="alert", group="alert", topic="t", partition="0"}'
    consumed = 'carepulse_kafka_records_consumed_total{job="alert", topic="t"}'
    stalled: dict[str, object] = {
        "exp_labels": {"job": "alert", "topic": "t", "severity": "ticket"}
    }

    def case(consumed_values: str, expected: list[dict[str, object]]) -> dict[str, object]:
        return {
            "interval": "1m",
            "input_series": [
                {"series": lag, "values": "50x30"},
                {"series": consumed, "values": consumed_values},
            ],
            "alert_rule_test": [
                {"eval_time": "25m", "alertname": "ConsumerStalled", "exp_alerts": expected}
            ],
        }

    rule = next(
        r for r in rules(RULES_DIR / "alerts.rules.yml") if r.get("alert") == "ConsumerStalled"
    )
    stalled["exp_annotations"] = {
        "summary": rule["annotations"]["summary"]
        .replace("{{ $labels.job }}", "alert")
        .replace("{{ $labels.topic }}", "t"),
        "dashboard": rule["annotations"]["dashboard"],
    }
    tests = {
        "rule_files": [str(RULES_DIR / "recording.rules.yml"), str(RULES_DIR / "alerts.rules.yml")],
        "evaluation_interval": "1m",
        "tests": [case("100x30", [stalled]), case("100+10x30", [])],
    }
    path = tmp_path / "stalled.test.yml"
    path.write_text(yaml.safe_dump(tests))
    result = run_promtool("test", "rules", str(path))
    assert result.returncode == 0, result.stdout + result.stderr


def _annotations(alert: str) -> dict[str, str]:
    rule = next(
        r
        for r in yaml.safe_load((RULES_DIR / "alerts.rules.yml").read_text())["groups"][0]["rules"]
        if r["alert"] == alert
    )
    annotations: dict[str, str] = dict(rule["annotations"])
    # 10 errors in 110 requests a minute, as humanizePercentage writes it.
    annotations["description"] = annotations["description"].replace(
        "{{ $value | humanizePercentage }}", "9.091%"
    )
    return annotations


@pytest.mark.parametrize("path", rule_files(), ids=lambda p: p.name)
def test_every_alert_says_how_urgent_it_is(path: Path) -> None:
    for group in yaml.safe_load(path.read_text())["groups"]:
        for rule in group["rules"]:
            if "alert" in rule:
                assert rule["labels"]["severity"] in ("page", "ticket"), rule["alert"]
                assert rule["annotations"]["summary"], rule["alert"]
