"""Gradient attributions on the float TensorFlow graph (integrated gradients, gradient x input).

The engine imports this module only when it is configured for a gradient method: it is where
the engine's TensorFlow lives, so the default (occlusion on the int8 path) never loads it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt
import tensorflow as tf

from services.classify.bundle import ModelBundle

if TYPE_CHECKING:
    from textencoder.encoder import SentenceEncoder

_TOKEN_SPEC = tf.TensorSpec(shape=[None, None], dtype=tf.int32)
_GRADIENT_SPECS = [
    _TOKEN_SPEC,
    _TOKEN_SPEC,
    tf.TensorSpec(shape=[None, 2], dtype=tf.int32),  # served (sentiment, intent) label per row
    tf.TensorSpec(shape=[None], dtype=tf.float32),  # scales of the word embeddings
]


class GradientAttributions:
    """Per head, attributions of the served label's logit to each token's word embedding."""

    def __init__(self, encoder: SentenceEncoder, bundle: ModelBundle) -> None:
        self._encoder = encoder
        heads = (bundle.sentiment.head, bundle.intent.head)
        self._head_kernels = [tf.constant(h.kernel, dtype=tf.float32) for h in heads]
        self._head_biases = [tf.constant(h.bias, dtype=tf.float32) for h in heads]
        self._function = tf.function(self._graph, input_signature=_GRADIENT_SPECS)

    def tracing_count(self) -> int:
        return int(self._function.experimental_get_tracing_count())

    def run(
        self,
        input_ids: npt.NDArray[np.int32],
        attention_mask: npt.NDArray[np.int32],
        targets: npt.NDArray[np.int32],
        steps: int,
    ) -> tuple[npt.NDArray[np.float32], ...]:
        """(sentiment, intent) attributions, each (n, width), for the `targets` labels;
        `steps` 1 is gradient x input, more are integrated gradients' midpoint steps."""
        if steps == 1:
            alphas = np.ones(1, dtype=np.float32)
        else:
            alphas = ((np.arange(steps) + 0.5) / steps).astype(np.float32)  # midpoint rule
        with tf.device(self._encoder.device):
            results = self._function(
                tf.constant(input_ids),
                tf.constant(attention_mask),
                tf.constant(targets),
                tf.constant(alphas),
            )
        return tuple(np.asarray(r.numpy(), dtype=np.float32) for r in results)

    def _graph(
        self, input_ids: Any, attention_mask: Any, targets: Any, alphas: Any
    ) -> tuple[Any, ...]:
        """Per head, (n, width) attributions of the target logit to the word embeddings:
        mean over `alphas` of the gradient at alpha x word embedding, times the word
        embedding (alphas = [1]: gradient x input; midpoints of [0, 1]: integrated gradients
        from the zero word embedding, position and type embeddings kept)."""
        words = tf.gather(self._encoder.word_embeddings, input_ids)  # (n, width, dim)
        shape, steps = tf.shape(words), tf.shape(alphas)[0]
        # (steps * n, width, dim), step-major: row s * n + r is text r at alphas[s].
        scaled = tf.reshape(
            alphas[:, None, None, None] * words[None], tf.concat([[-1], shape[1:]], 0)
        )
        mask = tf.tile(attention_mask, [steps, 1])
        with tf.GradientTape(persistent=True) as tape:
            tape.watch(scaled)
            pooled = self._encoder.pooled_from_embeddings(scaled, mask)
            chosen = [
                tf.reduce_sum(
                    tf.gather(
                        tf.matmul(pooled, kernel) + bias,
                        tf.tile(targets[:, head], [steps]),
                        batch_dims=1,
                    )
                )
                for head, (kernel, bias) in enumerate(
                    zip(self._head_kernels, self._head_biases, strict=True)
                )
            ]
        real = tf.cast(attention_mask, tf.float32)
        attributions = []
        for target in chosen:
            per_step = tf.reshape(tape.gradient(target, scaled), tf.concat([[steps], shape], 0))
            attributions.append(
                tf.reduce_sum(tf.reduce_mean(per_step, axis=0) * words, axis=-1) * real
            )
        del tape
        return attributions[0], attributions[1]
