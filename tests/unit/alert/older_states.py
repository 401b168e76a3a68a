"""Detector states as an older version wrote them, to test that newer code still reads them."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import fields

from services.alert.detector import DetectorConfig


def config_fields_starting(prefix: str) -> set[str]:
    """Names of the detector's settings that start with ``prefix`` (one check's settings)."""
    return {f.name for f in fields(DetectorConfig) if f.name.startswith(prefix)}


def as_written_by_version(
    state: dict[str, object],
    version: int,
    *,
    without_state: Collection[str],
    without_config: Collection[str],
) -> dict[str, object]:
    """``state`` without what ``version`` did not write yet: state keys and settings."""
    older = {k: v for k, v in state.items() if k not in without_state}
    older["version"] = version
    config = state["config"]
    assert isinstance(config, dict)
    older["config"] = {k: v for k, v in config.items() if k not in without_config}
    return older
