"""The collector configuration is valid for the real collector, built with exactly its parts."""

import re
import subprocess
from pathlib import Path

import pytest
import yaml

from local.observability import COLLECTOR_DIR, COLLECTOR_VERSION, collector_binary

OVERLAYS = ("config.local.yaml", "config.cluster.yaml")
SECTIONS = ("receivers", "processors", "connectors", "exporters", "extensions")


@pytest.fixture(scope="module")
def collector() -> Path:
    binary = collector_binary()
    if not binary.is_file():
        pytest.fail(f"{binary} is missing: run `make observability`", pytrace=False)
    return binary


def validate(collector: Path, *configs: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(collector), "validate", *(f"--config={c}" for c in configs)],
        capture_output=True,
        text=True,
        env={"MY_POD_IP": "10.0.0.7", "PATH": "/usr/bin:/bin"},
        timeout=60,
        check=False,
    )


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_the_real_collector_validates_the_base_config_with_each_overlay(
    collector: Path, overlay: str
) -> None:
    result = validate(collector, COLLECTOR_DIR / "config.yaml", COLLECTOR_DIR / overlay)
    assert result.returncode == 0, result.stdout + result.stderr


def test_validate_rejects_a_config_the_collector_could_not_run(
    collector: Path, tmp_path: Path
) -> None:
    config = yaml.safe_load((COLLECTOR_DIR / "config.yaml").read_text())
    config["processors"]["batch"]["send_batch_sise"] = 10  # a typo
    broken = tmp_path / "config.yaml"
    broken.write_text(yaml.safe_dump(config))
    result = validate(collector, broken, COLLECTOR_DIR / "config.local.yaml")
    assert result.returncode != 0
    assert "send_batch_sise" in result.stdout + result.stderr


def test_the_distribution_has_exactly_the_components_the_config_uses(collector: Path) -> None:
    listed = yaml.safe_load(
        subprocess.run(
            [str(collector), "components"], capture_output=True, text=True, check=True
        ).stdout
    )
    built = {(s, c["name"]) for s in SECTIONS for c in listed.get(s) or []}
    config = yaml.safe_load((COLLECTOR_DIR / "config.yaml").read_text())
    used = {(s, name.split("/")[0]) for s in SECTIONS for name in config.get(s) or {}}
    assert built == used


def test_every_collector_module_is_at_one_release() -> None:
    """Core v0.x and contrib at COLLECTOR_VERSION, core v1.x at its matching stable release."""
    go_mod = (COLLECTOR_DIR / "go.mod").read_text()
    builder = (COLLECTOR_DIR / "builder-config.yaml").read_text()
    modules = re.findall(
        r"((?:go\.opentelemetry\.io/collector|github\.com/open-telemetry/"
        r"opentelemetry-collector-contrib)/\S+) (v\d+\.\d+\.\d+\S*)",
        go_mod + builder,
    )
    assert modules
    stable = {v for _, v in modules if v.startswith("v1.")}
    unstable = {v for _, v in modules if v.startswith("v0.")}
    assert unstable == {f"v{COLLECTOR_VERSION}"}, sorted(unstable)
    assert len(stable) == 1, sorted(stable)
