from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from services.classify.bundle import SENTIMENT_LABELS, load_bundle, save_bundle
from services.classify.engine import ClassificationEngine
from services.classify.explanations import Pieces
from services.classify.head import SoftmaxHead
from services.classify.pipeline import TaskPipeline
from textencoder import SentenceEncoder

# One word that decides the label, and three that say nothing about it.
TEXT = "cancel the blue table"


@pytest.fixture(scope="module")
def cancel_engine(
    encoder: SentenceEncoder, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ClassificationEngine]:
    """Heads that score cosine to "cancel" against cosine to "the blue table", with the
    threshold halfway between TEXT and TEXT without "cancel": that word decides both labels."""
    cancel, other, full, without = encoder.encode(
        ["cancel", "the blue table", TEXT, "the blue table"]
    )
    margin = 20.0 * (cancel - other)
    threshold = (float(margin @ full) + float(margin @ without)) / 2

    def head(labels: tuple[str, ...]) -> SoftmaxHead:
        kernel = np.zeros((encoder.dim, len(labels)), np.float32)
        kernel[:, 0] = 20.0 * cancel
        kernel[:, 1:] = 20.0 * other[:, None]
        bias = np.zeros(len(labels), np.float32)
        bias[0] = -threshold
        return SoftmaxHead(labels, kernel, bias)

    path = save_bundle(
        tmp_path_factory.mktemp("bundle") / "cancel",
        version="cancel",
        encoder_name=encoder.name,
        encoder_sha256=encoder.weights_sha256,
        sentiment=TaskPipeline.head_only(head(SENTIMENT_LABELS)),
        intent=TaskPipeline.head_only(head(("cancel_transfer", "other"))),
    )
    engine = ClassificationEngine(load_bundle(path), encoder, max_batch=4)
    engine.start()
    yield engine
    engine.close()


def test_the_piece_that_drives_the_label_gets_the_highest_positive_weight(
    cancel_engine: ClassificationEngine,
) -> None:
    (prediction,) = cancel_engine.classify([TEXT], explain=True)
    assert (prediction.intent, prediction.sentiment) == ("cancel_transfer", "negative")
    for attributions in (prediction.intent_attributions, prediction.sentiment_attributions):
        weights = dict(attributions)
        assert max(weights, key=lambda token: weights[token]) == "cancel"
        assert weights["cancel"] > 0.3  # of a total absolute weight of 1


def test_weights_are_the_drop_of_the_served_probability_when_a_piece_is_removed(
    cancel_engine: ClassificationEngine,
) -> None:
    (prediction,) = cancel_engine.classify([TEXT], explain=True)
    (pieces,) = cancel_engine.pieces([TEXT])
    variants = [pieces.full(), *(pieces.without([i]) for i in pieces.content)]
    intent = cancel_engine.served_probabilities(variants)[1][:, 0]
    drops = intent[0] - intent[1:]
    weights = np.array([w for _, w in prediction.intent_attributions])
    np.testing.assert_allclose(weights, drops / np.abs(drops).sum(), atol=1e-5)
    assert prediction.intent_confidence == pytest.approx(float(intent[0]), abs=1e-6)


def test_removing_a_piece_cuts_its_id_and_its_characters() -> None:
    # [CLS] play ##ing cards [SEP]
    pieces = Pieces(
        text="Playing cards",
        ids=(101, 2377, 2075, 5329, 102),
        spans=((0, 0), (0, 4), (4, 7), (8, 13), (0, 0)),
        content=(1, 2, 3),
    )
    assert pieces.without([2]).ids == (101, 2377, 5329, 102)
    assert pieces.without([2]).text == "Play cards"
    assert pieces.without([1, 3]).text == "ing "
    assert pieces.only([3]) == pieces.without([1, 2])
    assert pieces.only([]).ids == (101, 102)
    with pytest.raises(ValueError):
        pieces.without([0])  # [CLS] stays


def test_pieces_match_the_encoder_tokens_and_spans(
    cancel_engine: ClassificationEngine, encoder: SentenceEncoder
) -> None:
    text = "My virtual card's PIN got blocked!"
    (pieces,) = cancel_engine.pieces([text])
    assert list(pieces.ids) == encoder.token_ids([text])[0]
    for i in pieces.content:
        start, end = pieces.spans[i]
        assert text[start:end].lower() == encoder.id_to_token(pieces.ids[i]).removeprefix("##")


def test_an_unknown_explain_method_fails_fast(bundle_dir: Path, encoder: SentenceEncoder) -> None:
    with pytest.raises(ValueError, match="explain_method"):
        ClassificationEngine(load_bundle(bundle_dir), encoder, explain_method="saliency")  # type: ignore[arg-type]
