"""`TaskPipeline`: how one task's served distribution is assembled from its components.

The bundle's manifest lists, per task, each component with its share, and the served
distribution is the weighted sum of the components' distributions (shares sum to 1):

    intent    = 0.5 x softmax head + 0.5 x exemplar votes
    sentiment = 0.7 x softmax head + 0.3 x n-gram model

Components (`Component`), each a distribution over the task's labels:

* `SoftmaxHead` ("softmax_head", exactly one per task): a linear layer on the sentence vector,
  softmax at a fitted temperature; its logits are also what gradient explanations read.
* `ExemplarIndex` ("exemplar_votes"): similarity-weighted votes of the nearest training
  messages (`services.classify.exemplars`).
* `NgramModel` ("ngrams"): a linear model on hashed word and character n-grams of the text
  (`services.classify.ngrams`).

`services.classify.bundle` reads and writes the manifest; training adds components with
`with_component`, which keeps the existing components' relative shares.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal, Protocol

import numpy as np
import numpy.typing as npt

from services.classify.exemplars import ExemplarIndex
from services.classify.head import SoftmaxHead
from services.classify.ngrams import NgramModel

ComponentKind = Literal["softmax_head", "exemplar_votes", "ngrams"]
# Shares are written to the manifest as decimals; their sum may be off by rounding.
SHARE_TOLERANCE = 1e-6


class PipelineError(ValueError):
    """The components or their shares do not form a distribution over the task's labels."""


class Component(Protocol):
    @property
    def n_labels(self) -> int: ...

    def distribution(
        self, vectors: npt.NDArray[np.float32], texts: Sequence[str]
    ) -> npt.NDArray[np.float32]: ...

    def settings(self) -> dict[str, Any]: ...


def component_kind(component: Component) -> ComponentKind:
    if isinstance(component, SoftmaxHead):
        return "softmax_head"
    if isinstance(component, ExemplarIndex):
        return "exemplar_votes"
    if isinstance(component, NgramModel):
        return "ngrams"
    raise PipelineError(f"not a pipeline component: {type(component).__name__}")


@dataclass(frozen=True)
class Weighted:
    share: float  # of the served distribution
    component: Component


@dataclass(frozen=True, eq=False)
class TaskPipeline:
    components: tuple[Weighted, ...]

    def __post_init__(self) -> None:
        heads = [c for c in self.components if isinstance(c.component, SoftmaxHead)]
        if len(heads) != 1:
            raise PipelineError(f"a task needs exactly one softmax head, got {len(heads)}")
        total = sum(c.share for c in self.components)
        if not abs(total - 1.0) <= SHARE_TOLERANCE or any(c.share < 0 for c in self.components):
            shares = [c.share for c in self.components]
            raise PipelineError(f"shares must be >= 0 and sum to 1, got {shares}")
        n = len(self.labels)
        for part in self.components:
            if part.component.n_labels != n:
                raise PipelineError(
                    f"{component_kind(part.component)} scores {part.component.n_labels} labels, "
                    f"the head has {n}"
                )

    @classmethod
    def head_only(cls, head: SoftmaxHead) -> TaskPipeline:
        return cls((Weighted(1.0, head),))

    @property
    def head(self) -> SoftmaxHead:
        return next(c.component for c in self.components if isinstance(c.component, SoftmaxHead))

    @property
    def labels(self) -> tuple[str, ...]:
        return self.head.labels

    @property
    def exemplars(self) -> ExemplarIndex | None:
        return next(
            (c.component for c in self.components if isinstance(c.component, ExemplarIndex)),
            None,
        )

    @property
    def ngrams(self) -> NgramModel | None:
        return next(
            (c.component for c in self.components if isinstance(c.component, NgramModel)), None
        )

    def with_component(self, share: float, component: Component) -> TaskPipeline:
        """This pipeline with `component` taking `share` of the served distribution; the
        existing components keep their relative shares (scaled by 1 - share)."""
        kept = tuple(Weighted(c.share * (1.0 - share), c.component) for c in self.components)
        return TaskPipeline((*kept, Weighted(share, component)))

    def probabilities(
        self, vectors: npt.NDArray[np.float32], texts: Sequence[str]
    ) -> npt.NDArray[np.float32]:
        """The served distribution of messages given as sentence vectors plus text."""
        total: npt.NDArray[np.float32] | None = None
        for part in self.components:
            scaled = part.share * part.component.distribution(vectors, texts)
            total = scaled if total is None else total + scaled
        return np.asarray(total, dtype=np.float32)
