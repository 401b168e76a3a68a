"""The knowledge base's vectors: from classify once per (encoder, texts), from disk after."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from services.recommend.knowledge_index import IndexNotLoaded, KnowledgeIndex
from services.recommend.vectors import ForeignEncoder
from tests.unit.recommend.conftest import ARTICLES, ENCODER, FakeEmbedder, knowledge_index

TEXTS = len(ARTICLES)  # the conftest's articles have no example questions


def _top_article(index: KnowledgeIndex, query: list[float]) -> str:
    loaded = index.serving(ENCODER)
    return loaded.ranker.rank(np.array(query, np.float32), top_k=1)[0].article.id


def _eventually(condition: Callable[[], bool], timeout_s: float = 15) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.02)


def test_a_restart_with_the_same_encoder_and_articles_reads_the_vectors_from_disk(
    tmp_path: Path,
) -> None:
    first = FakeEmbedder()
    knowledge_index(first, tmp_path).load()
    again = FakeEmbedder()

    index = knowledge_index(again, tmp_path)
    index.load()

    assert (first.embedded_texts, again.embedded_texts) == (TEXTS, 0)
    assert _top_article(index, [0.0, 0.0, 0.0, 1.0]) == "change-pin"


def test_another_encoder_misses_the_cache_and_is_embedded_afresh(tmp_path: Path) -> None:
    knowledge_index(FakeEmbedder(), tmp_path).load()
    other = FakeEmbedder("test-encoder:0002")

    loaded = knowledge_index(other, tmp_path).load()

    assert (loaded.encoder_id, other.embedded_texts) == ("test-encoder:0002", TEXTS)


def test_changed_articles_miss_the_cache_and_are_embedded_afresh(tmp_path: Path) -> None:
    knowledge_index(FakeEmbedder(), tmp_path).load()
    edited = [replace(ARTICLES[0], body="Freeze the card in the app first."), *ARTICLES[1:]]
    embedder = FakeEmbedder()

    knowledge_index(embedder, tmp_path, edited).load()

    assert embedder.embedded_texts == TEXTS


def test_an_unreadable_cache_file_is_recomputed_and_replaced(tmp_path: Path) -> None:
    knowledge_index(FakeEmbedder(), tmp_path).load()
    (cached,) = tmp_path.glob("kb-*.npz")
    cached.write_bytes(b"not a numpy archive")
    recomputing, reading = FakeEmbedder(), FakeEmbedder()

    knowledge_index(recomputing, tmp_path).load()
    knowledge_index(reading, tmp_path).load()

    assert (recomputing.embedded_texts, reading.embedded_texts) == (TEXTS, 0)


def test_the_index_is_ready_only_once_classify_has_answered(tmp_path: Path) -> None:
    embedder = FakeEmbedder(outages=3)  # classify still starting
    index = knowledge_index(embedder, tmp_path)
    assert not index.ready
    with pytest.raises(IndexNotLoaded):
        index.serving(ENCODER)

    index.start()
    try:
        _eventually(lambda: index.ready)
    finally:
        index.stop()
    assert embedder.outages == 0  # it retried through every outage
    assert _top_article(index, [1.0, 0.0, 0.0, 0.0]) == "lost-card"


def test_a_foreign_vector_is_refused_and_the_index_follows_classifys_new_encoder(
    tmp_path: Path,
) -> None:
    embedder = FakeEmbedder()
    index = knowledge_index(embedder, tmp_path)
    index.start()
    try:
        _eventually(lambda: index.ready)
        embedder.current_encoder = "test-encoder:0002"  # classify rolled out a new bundle

        with pytest.raises(ForeignEncoder) as refused:
            index.serving("test-encoder:0002")
        assert (refused.value.received, refused.value.serving) == ("test-encoder:0002", ENCODER)

        _eventually(lambda: _serves(index, "test-encoder:0002"))
    finally:
        index.stop()
    with pytest.raises(ForeignEncoder):
        index.serving(ENCODER)


def _serves(index: KnowledgeIndex, encoder_id: str) -> bool:
    try:
        index.serving(encoder_id)
    except ForeignEncoder:
        return False
    return True
