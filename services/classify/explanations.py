"""Per-token explanations: which word pieces the served prediction rests on.

A message is split into WordPiece pieces with their character spans (`PieceTokenizer`), so a
piece can be removed from both inputs the served score reads: the token ids the encoder sees,
and the text the sentiment n-gram model hashes (the piece's characters are cut out of it).
Removing pieces this way is what the shipped method does, one piece at a time, and what the
faithfulness evaluation (`training.classify.evaluate_explanations`) does with many at once.

Methods (`ExplainMethod`); docs/classify-model.md has the measured comparison:

* "occlusion" (served): a piece's weight is the served probability of the served label minus
  that probability with the piece removed. It explains the served, blended score (head +
  exemplar votes for intent, head + n-grams for sentiment) and costs one forward pass per
  piece.
* "integrated_gradients": gradients of the head's logit for the served label, averaged over
  word embeddings scaled from 0 to 1 (position embeddings kept), times the word embedding.
* "gradient_x_input": the gradient at the input times the word embedding (the v5 method; one
  step of the above at scale 1). The embedding LayerNorm is scale-invariant, so
  gradient . (word + position + type) is ~0 for every piece, and the word part alone is
  roughly minus the position part: its sign does not say which way a piece pushes.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import numpy as np
import numpy.typing as npt
from tokenizers import Tokenizer

from services.classify.prediction import Prediction, TokenAttributions
from textencoder.quantized import Int8Encoder
from textencoder.tokens import TOKENIZER_FILE

if TYPE_CHECKING:
    from services.classify.gradients import GradientAttributions  # imports TensorFlow
    from services.classify.model import ClassifyModel

ExplainMethod = Literal["occlusion", "integrated_gradients", "gradient_x_input"]
EXPLAIN_METHODS: tuple[ExplainMethod, ...] = (
    "occlusion",
    "integrated_gradients",
    "gradient_x_input",
)
# Gradients keep every layer's activations: bound the rows (texts x steps) of a gradient pass.
EXPLAIN_ROWS_PER_PASS = 16
# Integrated gradients: midpoint steps from the zero word embedding to the message's.
INTEGRATED_GRADIENT_STEPS = 8


@dataclass(frozen=True)
class Variant:
    """What the served score reads of one (possibly reduced) message."""

    text: str  # for the n-gram model
    ids: tuple[int, ...]  # for the encoder, with [CLS]/[SEP]


@dataclass(frozen=True)
class Pieces:
    """A message's word pieces: ids with [CLS]/[SEP] and each id's character span."""

    text: str
    ids: tuple[int, ...]
    spans: tuple[tuple[int, int], ...]  # (start, end) in `text`; (0, 0) for special tokens
    content: tuple[int, ...]  # positions in `ids` of the pieces that are not special tokens

    def full(self) -> Variant:
        return Variant(self.text, self.ids)

    def without(self, positions: Iterable[int]) -> Variant:
        """The message with the pieces at `positions` (indices into `ids`) removed."""
        drop = set(positions)
        if not drop <= set(self.content):
            raise ValueError(f"only content pieces can be removed, got {sorted(drop)}")
        ids = tuple(t for i, t in enumerate(self.ids) if i not in drop)
        kept: list[str] = []
        cursor = 0
        for i in sorted(drop):
            start, end = self.spans[i]
            kept.append(self.text[cursor:start])
            cursor = max(cursor, end)
        kept.append(self.text[cursor:])
        return Variant("".join(kept), ids)

    def only(self, positions: Collection[int]) -> Variant:
        """The message reduced to the pieces at `positions` (and [CLS]/[SEP])."""
        keep = set(positions)
        return self.without(i for i in self.content if i not in keep)


class PieceTokenizer:
    """The encoder's WordPiece tokenizer (same file, same truncation), with character spans."""

    def __init__(self, model_dir: Path, max_length: int) -> None:
        self._tokenizer = Tokenizer.from_file(str(model_dir / TOKENIZER_FILE))
        self._tokenizer.no_padding()
        self._tokenizer.enable_truncation(max_length=max_length)
        special = (self._tokenizer.token_to_id(t) for t in ("[CLS]", "[SEP]", "[PAD]"))
        self._special = frozenset(i for i in special if i is not None)

    def pieces(self, texts: Iterable[str]) -> list[Pieces]:
        texts = list(texts)
        out = []
        for text, encoding in zip(texts, self._tokenizer.encode_batch(texts), strict=True):
            ids = tuple(encoding.ids)
            out.append(
                Pieces(
                    text=text,
                    ids=ids,
                    spans=tuple((int(s), int(e)) for s, e in encoding.offsets),
                    content=tuple(i for i, t in enumerate(ids) if t not in self._special),
                )
            )
        return out


class Explainer:
    """Predictions with per-piece attributions, by `method`, of what `model` serves."""

    def __init__(self, model: ClassifyModel, method: ExplainMethod, *, max_batch: int) -> None:
        if method not in EXPLAIN_METHODS:
            raise ValueError(f"explain_method must be one of {EXPLAIN_METHODS}")
        self.method = method
        self._model = model
        self._max_batch = max_batch
        self._tokenizer = PieceTokenizer(model.tokens.model_dir, model.tokens.max_length)
        self._gradients: GradientAttributions | None = None
        if method != "occlusion":
            if isinstance(model.encoder, Int8Encoder):
                raise ValueError(
                    "gradient explanations run on TensorFlow: give the engine a "
                    "SentenceEncoder, not an Int8Encoder"
                )
            from services.classify.gradients import GradientAttributions

            self._gradients = GradientAttributions(model.encoder, model.bundle)

    def warm_up(self) -> None:
        """Trace the gradient graph for every length bucket (occlusion traces nothing)."""
        if self._gradients is None:
            return
        for width in self._model.tokens.length_buckets:
            ids = np.zeros((1, width), dtype=np.int32)
            ids[0, 0], ids[0, -1] = 101, 102
            self._gradients.run(ids, np.ones_like(ids), np.zeros((1, 2), np.int32), self._steps)

    def tracing_count(self) -> int:
        return self._gradients.tracing_count() if self._gradients is not None else 0

    def pieces(self, texts: Iterable[str]) -> list[Pieces]:
        return self._tokenizer.pieces(texts)

    def explain(self, texts: Sequence[str]) -> list[Prediction]:
        pieces = self._tokenizer.pieces(texts)
        if self._gradients is None:
            return self._by_occlusion(pieces)
        return self._by_gradients(self._gradients, pieces)

    def _by_occlusion(self, pieces: Sequence[Pieces]) -> list[Prediction]:
        """Weight of a piece: served probability of the served label, minus the same
        probability with that piece removed (ids and characters). Positive: the piece pushes
        towards the prediction."""
        variants: list[Variant] = []
        firsts: list[int] = []
        for p in pieces:
            firsts.append(len(variants))
            variants.append(p.full())
            variants.extend(p.without([i]) for i in p.content)
        vectors, s_probs, i_probs = self._model.score_ids(
            [v.ids for v in variants], [v.text for v in variants]
        )
        pairs = []
        for p, first in zip(pieces, firsts, strict=True):
            drops = slice(first + 1, first + 1 + len(p.content))
            weights = []
            for probs in (s_probs, i_probs):
                label = int(probs[first].argmax())
                weights.append(probs[first, label] - probs[drops, label])
            pairs.append((self._token_weights(p, weights[0]), self._token_weights(p, weights[1])))
        full = np.asarray(firsts)
        return self._model.predictions(vectors[full], s_probs[full], i_probs[full], pairs)

    @property
    def _steps(self) -> int:
        return INTEGRATED_GRADIENT_STEPS if self.method == "integrated_gradients" else 1

    def _by_gradients(
        self, gradients: GradientAttributions, pieces: Sequence[Pieces]
    ) -> list[Prediction]:
        """Gradient attributions of the head's logit for the served label (the exemplar votes
        and n-grams that the served label also rests on are not differentiated)."""
        vectors, s_probs, i_probs = self._model.score_ids(
            [p.ids for p in pieces], [p.text for p in pieces]
        )
        targets = np.stack([s_probs.argmax(axis=1), i_probs.argmax(axis=1)], axis=1)
        steps = self._steps
        rows_per_pass = max(1, min(self._max_batch, EXPLAIN_ROWS_PER_PASS) // steps)
        order = np.argsort([len(p.ids) for p in pieces], kind="stable")
        pairs: list[tuple[TokenAttributions, TokenAttributions]] = [((), ())] * len(pieces)
        for start in range(0, len(pieces), rows_per_pass):
            rows = order[start : start + rows_per_pass]
            batch = self._model.tokens.pad([pieces[i].ids for i in rows])
            s_attr, i_attr = gradients.run(
                batch.input_ids, batch.attention_mask, targets[rows].astype(np.int32), steps
            )
            for r, row in enumerate(rows):
                content = list(pieces[row].content)
                pairs[row] = (
                    self._token_weights(pieces[row], s_attr[r, content]),
                    self._token_weights(pieces[row], i_attr[r, content]),
                )
        return self._model.predictions(vectors, s_probs, i_probs, pairs)

    def _token_weights(self, pieces: Pieces, weights: npt.NDArray[np.float32]) -> TokenAttributions:
        """(piece, weight) per content piece, scaled so the absolute weights sum to 1."""
        total = float(np.abs(weights).sum())
        scale = 1.0 / total if total > 0 else 0.0
        return tuple(
            (self._model.tokens.id_to_token(pieces.ids[i]), float(w) * scale)
            for i, w in zip(pieces.content, weights, strict=True)
        )
