"""The model card's side-by-side section: each pipeline step, what chose it, its dev figure and
its once-reported figure, rendered from metrics.json (old and new key names alike)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from training.classify import model_card
from training.classify.model_card import (
    SIDE_BY_SIDE_HEADING,
    render_side_by_side,
    with_side_by_side,
    without_section,
    without_side_by_side,
)

from .conftest import COMMITTED_BUNDLE

# Issue 17: the v5 bundle on the official test splits, measured outside the repository; v6 serves
# v5's intent pipeline unchanged, its sentiment blend was chosen again, and was not measured.
ISSUE_17 = {"intent": "v5: 0.930", "sentiment": "v5: 0.690"}


def committed_metrics() -> dict[str, Any]:
    return dict(json.loads((COMMITTED_BUNDLE / "metrics.json").read_text(encoding="utf-8")))


def renamed_to_dev(metrics: dict[str, Any]) -> dict[str, Any]:
    """The committed metrics (written by v5's stages, up to its n-grams) with the keys the
    pipeline writes now."""
    out = json.loads(json.dumps(metrics))
    for name in ("intent", "intent_head_only", "sentiment", "sentiment_before_ngrams"):
        out[name]["dev"] = out[name].pop("validation")
    exemplars = out["intent_exemplars"]
    exemplars["dev_score"] = exemplars.pop("val_score")
    exemplars["head_dev_score"] = exemplars.pop("head_val_score")
    out["sentiment_ngrams"]["chosen_on"] = "dev"
    return dict(out)


def test_committed_rows_show_each_step_with_its_dev_and_reported_figures() -> None:
    section = render_side_by_side(committed_metrics(), ISSUE_17, "issue 17")

    assert "**Intent**, accuracy: dev n=1,000, Banking77 held-out 10% n=1,003." in section
    assert "**Sentiment**, macro recall: dev n=4,747, TweetEval official validation n=2,000." in (
        section
    )
    heading = (
        "| component/step | chosen on | dev | held-out or official validation (reported once) "
        "| official test (issue 17) |"
    )
    assert section.count(heading) == 2
    assert "| head alone | dev: checkpoint, T 0.8787 (NLL) | 0.921 | 0.9202 | — |" in section
    assert "| 0.93 (head 0.922, int8) | 0.9282 | — |" in section
    assert "| served | — | 0.93 (selection time) | 0.9282 | v5: 0.930 |" in section
    assert "| head alone | dev: checkpoint, T 1.2452 (NLL) | 0.7312 | 0.724 | — |" in section
    assert (
        "| + n-grams | dev (n=4,747), out of fold: T 0.8012, share 0.35, head T 1 in the blend "
        "| 0.7338 (encoder alone 0.7281, int8) | 0.7391 | — |"
    ) in section
    assert "| served | — | 0.7338 (selection time) | 0.7391 | v5: 0.690 |" in section


def test_a_blend_recorded_before_head_temperatures_names_none() -> None:
    metrics = committed_metrics()
    del metrics["sentiment_ngrams"]["head_temperature"]  # as bundles up to v5 recorded it

    section = render_side_by_side(metrics)

    assert "| + n-grams | dev (n=4,747), out of fold: T 0.8012, share 0.35 |" in section


def test_metrics_with_the_old_validation_keys_render_as_the_new_dev_keys() -> None:
    metrics = committed_metrics()
    assert render_side_by_side(metrics) == render_side_by_side(renamed_to_dev(metrics))


def test_a_bundle_without_official_test_figures_shows_dashes() -> None:
    section = render_side_by_side(committed_metrics())
    assert "| served | — | 0.93 (selection time) | 0.9282 | — |" in section
    assert "| official test |" in section


def test_the_committed_card_ends_with_what_its_metrics_render() -> None:
    card = (COMMITTED_BUNDLE / "MODEL_CARD.md").read_text(encoding="utf-8")
    assert card.endswith(render_side_by_side(committed_metrics(), ISSUE_17, "issue 17"))


def test_rerendering_replaces_the_section_and_moves_it_to_the_end() -> None:
    card = f"# card\n\n{SIDE_BY_SIDE_HEADING}\n\nold figures\n\n## Limits\n\n- one\n"
    updated = with_side_by_side(card, f"{SIDE_BY_SIDE_HEADING}\n\nnew figures\n")

    assert updated == f"# card\n\n## Limits\n\n- one\n\n{SIDE_BY_SIDE_HEADING}\n\nnew figures\n"
    assert without_side_by_side(updated) == "# card\n\n## Limits\n\n- one\n\n"
    assert (
        without_section(updated, "## Limits")
        == f"# card\n\n{SIDE_BY_SIDE_HEADING}\n\nnew figures\n"
    )
    assert with_side_by_side(updated, f"{SIDE_BY_SIDE_HEADING}\n\nnew figures\n") == updated


def test_the_command_rerenders_a_bundles_card_in_place(tmp_path: Path) -> None:
    (tmp_path / "metrics.json").write_text(json.dumps(renamed_to_dev(committed_metrics())))
    (tmp_path / "MODEL_CARD.md").write_text("# CarePulse classify model v6\n")

    model_card.main([str(tmp_path), "--official-test", "sentiment=0.690"])

    card = (tmp_path / "MODEL_CARD.md").read_text()
    assert card.startswith("# CarePulse classify model v6\n\n" + SIDE_BY_SIDE_HEADING)
    assert "| served | — | 0.7338 (selection time) | 0.7391 | 0.690 |" in card
    assert "| served | — | 0.93 (selection time) | 0.9282 | — |" in card
