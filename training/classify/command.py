"""What every training command (`training`, `add_exemplars`, `add_ngrams`) does the same way:
its logging, set up before TensorFlow loads, and its own command line for the model card."""

from __future__ import annotations

import logging
import os
import shlex
from collections.abc import Sequence


def configure_command_logging() -> None:
    """INFO lines with timestamps; TensorFlow's C++ start-up chatter off (call before it loads)."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")


def command_line(module: str, argv: Sequence[str]) -> str:
    """The command as a user would type it again, e.g. for a model card."""
    return f"python -m {module} " + " ".join(shlex.quote(a) for a in argv)
