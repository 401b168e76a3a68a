from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from textencoder import SentenceEncoder


@pytest.fixture(scope="session")
def encoder() -> Iterator[SentenceEncoder]:
    """The real all-MiniLM-L6-v2 encoder, loaded once (a few seconds)."""
    yield SentenceEncoder()
