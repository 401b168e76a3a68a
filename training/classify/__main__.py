"""`python -m training.classify`: the whole classify training pipeline, stage after stage.

    python -m training.classify --data-dir ../shared/datasets --version v6 \\
        --sentiment-train-size 0 --sentiment-epochs 2 --evaluations 3 --exemplar-tasks intent

1. `train_base`: LoRA adapters and both heads (options this command does not know go there),
   written to WORK_DIR/<version>-finetuned;
2. `add_exemplars`: the exemplar memory of each of `--exemplar-tasks`, to
   WORK_DIR/<version>-exemplars;
3. `add_ngrams`: the sentiment n-gram model, to `--output` (default models/classify/<version>).

Each stage is a command of its own (`python -m training.classify.<stage> --help`) and records
its own command line in the model card, so a bundle is reproduced stage by stage as well.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from training.classify import add_exemplars, add_ngrams, train_base

Stage = Callable[[list[str] | None], None]


@dataclass(frozen=True)
class StageRun:
    name: str
    main: Stage
    argv: list[str]


def parse_args(argv: Sequence[str]) -> tuple[argparse.Namespace, list[str]]:
    """The pipeline's own options, and the rest (for the fine-tuning stage)."""
    parser = argparse.ArgumentParser(
        prog="python -m training.classify",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--data-dir", type=Path, required=True, help="the data sets' folder")
    parser.add_argument("--version", required=True, help="version of the bundle")
    parser.add_argument(
        "--exemplar-tasks",
        nargs="+",
        choices=add_exemplars.TASKS,
        default=list(add_exemplars.TASKS),
        help="heads that get an exemplar memory (default: both)",
    )
    parser.add_argument(
        "--work-dir",
        type=Path,
        default=Path("build/classify"),
        help="where the intermediate bundles of stages 1 and 2 go",
    )
    parser.add_argument(
        "--output",
        type=Path,
        default=None,
        help="the final bundle (default: models/classify/<version>)",
    )
    return parser.parse_known_args(list(argv))


def stages(args: argparse.Namespace, fine_tune_options: Sequence[str]) -> list[StageRun]:
    """The three stages with their command lines, each reading the bundle the last wrote."""
    data = ["--data-dir", str(args.data_dir)]
    fine_tuned = args.work_dir / f"{args.version}-finetuned"
    with_exemplars = args.work_dir / f"{args.version}-exemplars"
    output = [] if args.output is None else ["--output", str(args.output)]
    return [
        StageRun(
            "train_base",
            train_base.main,
            [*data, "--version", args.version, *fine_tune_options, "--output", str(fine_tuned)],
        ),
        StageRun(
            "add_exemplars",
            add_exemplars.main,
            [
                *data,
                "--bundle",
                str(fine_tuned),
                "--tasks",
                *args.exemplar_tasks,
                "--version",
                args.version,
                "--output",
                str(with_exemplars),
            ],
        ),
        StageRun(
            "add_ngrams",
            add_ngrams.main,
            [*data, "--bundle", str(with_exemplars), "--version", args.version, *output],
        ),
    ]


def main(argv: list[str] | None = None) -> None:
    args, fine_tune_options = parse_args(sys.argv[1:] if argv is None else argv)
    for stage in stages(args, fine_tune_options):
        print(f"== stage {stage.name}: {' '.join(stage.argv)}", flush=True)
        stage.main(stage.argv)


if __name__ == "__main__":
    main()
