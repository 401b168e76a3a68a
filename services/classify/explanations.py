"""Per-token explanations: which word pieces the served prediction rests on.

A message is split into WordPiece pieces with their character spans (`PieceTokenizer`), so a
piece can be removed from both inputs the served score reads: the token ids the encoder sees,
and the text the sentiment n-gram model hashes (the piece's characters are cut out of it).
Removing pieces this way is what the shipped method does, one piece at a time, and what the
faithfulness evaluation (`services.classify.evaluate_explanations`) does with many at once.

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

from collections.abc import Collection, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from tokenizers import Tokenizer

from textencoder.tokens import TOKENIZER_FILE

ExplainMethod = Literal["occlusion", "integrated_gradients", "gradient_x_input"]
EXPLAIN_METHODS: tuple[ExplainMethod, ...] = (
    "occlusion",
    "integrated_gradients",
    "gradient_x_input",
)


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
