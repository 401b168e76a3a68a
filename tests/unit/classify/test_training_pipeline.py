"""`python -m training.classify` chains the three training stages with the command lines that
built the served bundle; checked on stubs of the stages, without training."""

from __future__ import annotations

import shlex
from pathlib import Path

import pytest

from training.classify import __main__ as pipeline
from training.classify import add_exemplars, add_ngrams, train_base
from training.classify.bundle_data import parse_step_args

# The arguments `make train` passes, and the three commands it runs: v5's recipe, whose last
# stage now also chooses the head's temperature in the sentiment blend (v6 = v5 + that stage).
MAKE_TRAIN = (
    "--data-dir ../shared/datasets --version v6 --sentiment-train-size 0 --sentiment-epochs 2 "
    "--evaluations 3 --exemplar-tasks intent"
)
MAKE_TRAIN_STAGES = [
    (
        "train_base",
        "--data-dir ../shared/datasets --version v6 --sentiment-train-size 0 "
        "--sentiment-epochs 2 --evaluations 3 --output build/classify/v6-finetuned",
    ),
    (
        "add_exemplars",
        "--data-dir ../shared/datasets --bundle build/classify/v6-finetuned --tasks intent "
        "--version v6 --output build/classify/v6-exemplars",
    ),
    (
        "add_ngrams",
        "--data-dir ../shared/datasets --bundle build/classify/v6-exemplars --version v6",
    ),
]


@pytest.fixture
def stage_calls(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, list[str]]]:
    """Replaces each stage's entry point with one that records its arguments."""
    calls: list[tuple[str, list[str]]] = []
    for name, module in (
        ("train_base", train_base),
        ("add_exemplars", add_exemplars),
        ("add_ngrams", add_ngrams),
    ):

        def record(argv: list[str] | None, name: str = name) -> None:
            calls.append((name, list(argv or [])))

        monkeypatch.setattr(module, "main", record)
    return calls


def test_make_train_runs_the_three_stages_in_order_with_the_served_bundles_command_lines(
    stage_calls: list[tuple[str, list[str]]],
) -> None:
    pipeline.main(shlex.split(MAKE_TRAIN))

    assert stage_calls == [(name, shlex.split(argv)) for name, argv in MAKE_TRAIN_STAGES]


def test_each_stage_reads_the_bundle_the_previous_stage_wrote(
    stage_calls: list[tuple[str, list[str]]], tmp_path: Path
) -> None:
    pipeline.main(
        ["--data-dir", "data", "--version", "v9", "--work-dir", str(tmp_path), "--output", "out"]
    )

    base, exemplars, ngrams = (argv for _, argv in stage_calls)
    written = base[base.index("--output") + 1]
    assert exemplars[exemplars.index("--bundle") + 1] == written
    assert ngrams[ngrams.index("--bundle") + 1] == exemplars[exemplars.index("--output") + 1]
    assert ngrams[ngrams.index("--output") + 1] == "out"
    assert exemplars[exemplars.index("--tasks") + 1 :][:2] == ["intent", "sentiment"]


def test_every_stage_command_line_is_accepted_by_that_stage(
    stage_calls: list[tuple[str, list[str]]],
) -> None:
    pipeline.main(shlex.split(MAKE_TRAIN))

    (_, base), (_, exemplars), (_, ngrams) = stage_calls
    parsed = train_base.parse_args(base)
    assert (parsed.sentiment_train_size, parsed.sentiment_epochs, parsed.evaluations) == (0, 2, 3)
    assert parsed.output == Path("build/classify/v6-finetuned")
    step = parse_step_args(
        "x", None, exemplars, data_help="", forward_help="", extra=add_exemplars.add_tasks_argument
    )
    assert step.tasks == ["intent"]
    assert step.bundle == Path("build/classify/v6-finetuned")
    step = parse_step_args("x", None, ngrams, data_help="", forward_help="")
    assert step.bundle == Path("build/classify/v6-exemplars")
    assert step.output == Path(train_base.REPO_ROOT / "models" / "classify" / "v6")


def test_no_image_build_context_holds_the_training_package() -> None:
    # .dockerignore is an allow-list: only what it re-includes can be COPYed into an image.
    dockerignore = (train_base.REPO_ROOT / ".dockerignore").read_text().splitlines()
    allowed = [Path(line[1:].strip("/")) for line in dockerignore if line.startswith("!")]
    assert Path("services") in allowed  # what the classify image copies from
    package = Path("training")
    assert not [path for path in allowed if path == package or package in path.parents]
