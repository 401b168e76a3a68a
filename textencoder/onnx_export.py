"""The encoder's pooled forward pass written out as an ONNX graph, for ONNX Runtime on CPUs.

The graph is built op by op from the live Keras weights (so merged LoRA adapters are in it),
using ONNX Runtime's fused transformer kernels (`Attention`, `SkipLayerNormalization`,
`BiasGelu` in the `com.microsoft` domain): these are what make its int8 path fast, and writing
them directly avoids a TF -> ONNX converter and the pattern matching of a fusion pass.
Same contract as `SentenceEncoder.pooled`: `(input_ids, attention_mask)` int32 of shape
`(batch, seq)` in, unit-length `(batch, 384)` float32 out.
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np
import numpy.typing as npt
import onnx
from onnx import TensorProto, helper, numpy_helper

from textencoder.quantized import ATTENTION_MASK, INPUT_IDS, POOLED

_MS_DOMAIN = "com.microsoft"
_OPSET = 17  # LayerNormalization is standard from 17


class _GraphBuilder:
    """Accumulates initializers and nodes; every node is named after its (first) output."""

    def __init__(self) -> None:
        self.initializers: list[onnx.TensorProto] = []
        self.nodes: list[onnx.NodeProto] = []

    def constant(self, name: str, value: npt.ArrayLike) -> str:
        self.initializers.append(numpy_helper.from_array(np.asarray(value), name))
        return name

    def op(
        self, op_type: str, inputs: list[str], output: str, *, ms: bool = False, **attrs: Any
    ) -> str:
        domain = _MS_DOMAIN if ms else None
        self.nodes.append(
            helper.make_node(op_type, inputs, [output], name=output, domain=domain, **attrs)
        )
        return output


def export_pooled_encoder(bert_model: Any) -> onnx.ModelProto:
    """An ONNX model of `bert_model` (a `TFBertModel`) + mean pooling + L2 normalisation."""
    weights = _weights_by_path(bert_model)
    config = bert_model.config
    epsilon = float(config.layer_norm_eps)
    g = _GraphBuilder()

    # Embeddings: word + position[:seq] + token type 0 (CarePulse never sends a second segment).
    g.constant("one", np.array([1], np.int64))
    g.constant("two", np.array([2], np.int64))
    g.constant("zero", np.array([0], np.int64))
    words = g.op(
        "Gather",
        [g.constant("word_table", weights["embeddings/word_embeddings/weight"]), INPUT_IDS],
        "words",
    )
    seq_len = g.op("Slice", [g.op("Shape", [INPUT_IDS], "ids_shape"), "one", "two"], "seq_len")
    positions_table = g.constant(
        "position_table", weights["embeddings/position_embeddings/embeddings"]
    )
    positions = g.op("Slice", [positions_table, "zero", seq_len, "zero"], "positions")
    summed = g.op(
        "Add",
        [
            g.op("Add", [words, positions], "words_positions"),
            g.constant("token_type_0", weights["embeddings/token_type_embeddings/embeddings"][0]),
        ],
        "embedded",
    )
    hidden = g.op(
        "LayerNormalization",
        [
            summed,
            g.constant("embeddings_ln_gamma", weights["embeddings/LayerNorm/gamma"]),
            g.constant("embeddings_ln_beta", weights["embeddings/LayerNorm/beta"]),
        ],
        "layer_0_input",
        axis=-1,
        epsilon=epsilon,
    )
    for layer in range(int(config.num_hidden_layers)):
        hidden = _transformer_block(
            g, weights, layer, hidden, int(config.num_attention_heads), epsilon
        )

    # Mean over real tokens, then unit length: what sentence-transformers' pooling does.
    mask = g.op(
        "Unsqueeze",
        [
            g.op("Cast", [ATTENTION_MASK], "mask_float", to=TensorProto.FLOAT),
            g.constant("last_axis", np.array([-1], np.int64)),
        ],
        "mask_3d",
    )
    token_sum = g.op(
        "ReduceSum", [g.op("Mul", [hidden, mask], "masked_hidden"), "one"], "token_sum", keepdims=0
    )
    token_count = g.op(
        "Max",
        [
            g.op("ReduceSum", [mask, "one"], "token_count_raw", keepdims=0),
            g.constant("min_count", np.array(1e-9, np.float32)),
        ],
        "token_count",
    )
    g.op(
        "LpNormalization",
        [g.op("Div", [token_sum, token_count], "mean_pooled")],
        POOLED,
        axis=-1,
        p=2,
    )

    graph = helper.make_graph(
        g.nodes,
        "pooled_sentence_encoder",
        [
            helper.make_tensor_value_info(name, TensorProto.INT32, ["batch", "seq"])
            for name in (INPUT_IDS, ATTENTION_MASK)
        ],
        [
            helper.make_tensor_value_info(
                POOLED, TensorProto.FLOAT, ["batch", int(config.hidden_size)]
            )
        ],
        g.initializers,
    )
    model = helper.make_model(
        graph,
        opset_imports=[helper.make_opsetid("", _OPSET), helper.make_opsetid(_MS_DOMAIN, 1)],
        producer_name="carepulse.textencoder",
    )
    onnx.checker.check_model(model)
    return model


def _transformer_block(
    g: _GraphBuilder,
    weights: dict[str, npt.NDArray[np.float32]],
    layer: int,
    hidden: str,
    heads: int,
    epsilon: float,
) -> str:
    """Post-LN BERT block: x = LN(x + attention(x)); x = LN(x + W2·gelu(W1·x))."""
    p = f"encoder/layer_._{layer}/"
    qkv_kernel = np.concatenate(
        [weights[f"{p}attention/self/{n}/kernel"] for n in ("query", "key", "value")], axis=1
    )
    qkv_bias = np.concatenate(
        [weights[f"{p}attention/self/{n}/bias"] for n in ("query", "key", "value")]
    )
    context = g.op(
        "Attention",
        [
            hidden,
            g.constant(f"l{layer}_qkv_kernel", qkv_kernel),
            g.constant(f"l{layer}_qkv_bias", qkv_bias),
            ATTENTION_MASK,
        ],
        f"l{layer}_context",
        ms=True,
        num_heads=heads,
    )
    attended = _project_add_norm(
        g, weights, (context, hidden), f"{p}attention/output", f"l{layer}_attn", epsilon
    )
    expanded = g.op(
        "MatMul",
        [attended, g.constant(f"l{layer}_ffn_in_kernel", weights[f"{p}intermediate/dense/kernel"])],
        f"l{layer}_ffn_in",
    )
    activated = g.op(
        "BiasGelu",
        [expanded, g.constant(f"l{layer}_ffn_in_bias", weights[f"{p}intermediate/dense/bias"])],
        f"l{layer}_gelu",
        ms=True,
    )
    return _project_add_norm(
        g, weights, (activated, attended), f"{p}output", f"l{layer}_ffn", epsilon
    )


def _project_add_norm(
    g: _GraphBuilder,
    weights: dict[str, npt.NDArray[np.float32]],
    inputs: tuple[str, str],
    path: str,
    name: str,
    epsilon: float,
) -> str:
    """LayerNorm(residual + x·W + b) for `inputs` (x, residual): BERT's output sub-layer, with
    the bias folded into ORT's fused norm. Output `<name>_normed`."""
    x, residual = inputs
    projected = g.op(
        "MatMul",
        [x, g.constant(f"{name}_out_kernel", weights[f"{path}/dense/kernel"])],
        f"{name}_out",
    )
    return g.op(
        "SkipLayerNormalization",
        [
            projected,
            residual,
            g.constant(f"{name}_ln_gamma", weights[f"{path}/LayerNorm/gamma"]),
            g.constant(f"{name}_ln_beta", weights[f"{path}/LayerNorm/beta"]),
            g.constant(f"{name}_out_bias", weights[f"{path}/dense/bias"]),
        ],
        f"{name}_normed",
        ms=True,
        epsilon=epsilon,
    )


def _weights_by_path(bert_model: Any) -> dict[str, npt.NDArray[np.float32]]:
    """Keras weights keyed by their path below `bert/`, e.g. `encoder/layer_._0/.../kernel`."""
    weights: dict[str, npt.NDArray[np.float32]] = {}
    for variable in bert_model.weights:
        match = re.search(r"bert/(.+?)(?::\d+)?$", variable.name)
        if match:
            weights[match.group(1)] = np.asarray(variable.numpy(), dtype=np.float32)
    return weights
