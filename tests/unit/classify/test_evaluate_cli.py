from __future__ import annotations

import json
from pathlib import Path

import pytest

from training.classify.evaluate import main

from .conftest import COMMITTED_BUNDLE, DATA

SENTIMENT_ARGS = [
    "--text",
    str(DATA / "support_sentiment_text.txt"),
    "--labels",
    str(DATA / "support_sentiment_labels.txt"),
]
needs_committed_bundle = pytest.mark.skipif(
    not COMMITTED_BUNDLE.is_dir(), reason="no committed bundle yet"
)


def _last_json_line(capsys: pytest.CaptureFixture[str]) -> dict[str, object]:
    lines = capsys.readouterr().out.strip().splitlines()
    result = json.loads(lines[-1])
    assert isinstance(result, dict)
    return result


def test_evaluate_prints_the_metrics_json_as_last_line(
    bundle_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    main([*SENTIMENT_ARGS, "--bundle", str(bundle_dir), "--max-batch", "4"])
    result = _last_json_line(capsys)
    assert {"accuracy", "macro_recall", "macro_f1", "ece", "n", "per_class"} <= set(result)
    assert result["n"] == 12
    assert result["task"] == "sentiment"


@needs_committed_bundle
def test_committed_bundle_recognises_hand_written_bank_intents(
    capsys: pytest.CaptureFixture[str],
) -> None:
    main(["--csv", str(DATA / "bank_support.csv"), "--max-batch", "4"])
    result = _last_json_line(capsys)
    assert result["n"] == 30
    assert isinstance(result["accuracy"], float) and result["accuracy"] >= 0.8


@needs_committed_bundle
def test_committed_bundle_reads_the_sentiment_of_support_messages(
    capsys: pytest.CaptureFixture[str],
) -> None:
    main([*SENTIMENT_ARGS, "--max-batch", "4"])
    result = _last_json_line(capsys)
    assert isinstance(result["accuracy"], float) and result["accuracy"] >= 0.75
