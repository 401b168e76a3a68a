"""PromQL expressions of the dashboards and rules, their metric names, and promtool."""

import json
import re
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from local.observability import REPO_ROOT
from tests.integration.system_binaries import require_binary

OBSERVABILITY = REPO_ROOT / "observability"
RULES_DIR = OBSERVABILITY / "prometheus" / "rules"
DASHBOARDS_DIR = OBSERVABILITY / "grafana" / "dashboards"
# Grafana's variables, replaced by what they stand for so Prometheus' parser reads the query.
GRAFANA_VARIABLES = {"$__rate_interval": "5m", "$__interval": "1m", "$__range": "1h"}
_KEYWORDS = {
    "and", "or", "unless", "by", "without", "on", "ignoring", "group_left", "group_right",
    "bool", "offset", "inf", "nan",
}  # fmt: skip


@dataclass(frozen=True)
class Expression:
    where: str  # file and panel or rule, for messages
    expr: str


def promtool() -> Path:
    return require_binary("promtool", "prometheus")


def run_promtool(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(promtool()), *args], capture_output=True, text=True, check=False, timeout=120
    )


def rule_files() -> list[Path]:
    return sorted(RULES_DIR.glob("*.rules.yml"))


def rules(path: Path) -> Iterator[dict[str, Any]]:
    for group in yaml.safe_load(path.read_text())["groups"]:
        yield from group["rules"]


def rule_expressions() -> list[Expression]:
    return [
        Expression(f"{path.name}: {rule.get('alert') or rule['record']}", rule["expr"])
        for path in rule_files()
        for rule in rules(path)
    ]


def recorded_names() -> set[str]:
    return {rule["record"] for path in rule_files() for rule in rules(path) if "record" in rule}


def dashboard_expressions() -> list[Expression]:
    found = []
    for path in sorted(DASHBOARDS_DIR.glob("*.json")):
        dashboard = json.loads(path.read_text())
        for annotation in dashboard.get("annotations", {}).get("list", []):
            if annotation.get("expr"):
                found.append(Expression(f"{path.name}: {annotation['name']}", annotation["expr"]))
        for panel in dashboard.get("panels", []):
            for target in panel.get("targets", []):
                found.append(Expression(f"{path.name}: {panel['title']}", target["expr"]))
    return found


def parseable(expr: str) -> str:
    for variable, value in GRAFANA_VARIABLES.items():
        expr = expr.replace(variable, value)
    return expr


@dataclass(frozen=True)
class Selector:
    """A vector selector of an expression: `name{matchers}`, without its range or offset."""

    name: str
    matchers: str  # "{...}" as written, or ""

    def __str__(self) -> str:
        return f"{self.name}{self.matchers}"


_STRING = re.compile(r'"(?:[^"\\]|\\.)*"')
_GROUPING = re.compile(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)")
_SELECTOR = re.compile(r"(?<![\w:.])([A-Za-z_:][\w:]*)\s*(\{[^}]*\})?")


def vector_selectors(expr: str) -> set[Selector]:
    """The vector selectors of a PromQL expression (a lexer's view, no full parse)."""
    strings: list[str] = []

    def hold(match: re.Match[str]) -> str:
        strings.append(match.group(0))
        return f'"{len(strings) - 1}"'

    text = _STRING.sub(hold, parseable(expr))  # no brace or bracket inside a string is read
    text = re.sub(r"\[[^\]]*\]", " ", text)  # range selectors
    text = _GROUPING.sub(" ", text)
    selectors = set()
    for match in _SELECTOR.finditer(text):
        name, matchers = match.group(1), match.group(2) or ""
        if name.lower() in _KEYWORDS or text[match.end() :].lstrip().startswith("("):
            continue
        matchers = re.sub(r'"(\d+)"', lambda m: strings[int(m.group(1))], matchers)
        selectors.add(Selector(name, matchers))
    return selectors


def metric_names(expr: str) -> set[str]:
    """The metric names a PromQL expression selects."""
    return {selector.name for selector in vector_selectors(expr)}
