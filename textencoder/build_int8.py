"""Builds the int8 ONNX model of the encoder: export the Keras weights, then quantize them.

`python -m textencoder.build_int8 --output PATH ...` is the subprocess in which
`textencoder.int8_cache` builds a missing model: it imports TensorFlow, loads the encoder,
merges the adapters, writes the model atomically and exits, so that the serving process never
holds TensorFlow's ~900 MB.
"""

from __future__ import annotations

import argparse
import logging
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import onnx
from onnxruntime.quantization import QuantType, quantize_dynamic

from textencoder.adapters import EncoderAdapters
from textencoder.int8_cache import write_atomically
from textencoder.onnx_export import export_pooled_encoder
from textencoder.quantized import FLOAT_LAYERS

if TYPE_CHECKING:
    from textencoder.encoder import SentenceEncoder


def build_int8_model(encoder: SentenceEncoder, *, float_layers: int = FLOAT_LAYERS) -> bytes:
    """The int8 model of `encoder`'s current weights (merged adapters included); a few
    seconds on 2 cores."""
    return quantize_int8(export_pooled_encoder(encoder.keras_model), float_layers=float_layers)


def quantize_int8(model: onnx.ModelProto, *, float_layers: int = FLOAT_LAYERS) -> bytes:
    """Dynamic int8 quantization of the MatMuls and Attentions, per output channel, except in
    the first `float_layers` transformer blocks.

    Per-channel weight scales keep the vectors at a cosine of ~0.99 to float32, where one scale
    per tensor measured ~0.98 on the same texts.
    """
    float_prefixes = tuple(f"l{layer}_" for layer in range(float_layers))
    excluded = [
        n.name for n in model.graph.node if float_prefixes and n.name.startswith(float_prefixes)
    ]
    # The quantizer logs one INFO line per fused op straight on the root logger.
    root_logger = logging.getLogger()
    root_logger.addFilter(_drop_quantizer_chatter)
    try:
        return _quantize(model, excluded)
    finally:
        root_logger.removeFilter(_drop_quantizer_chatter)


def _quantize(model: onnx.ModelProto, excluded: list[str]) -> bytes:
    with tempfile.TemporaryDirectory(prefix="carepulse-int8-") as workdir:
        output = Path(workdir) / "int8.onnx"
        quantize_dynamic(
            model,
            output,
            per_channel=True,
            weight_type=QuantType.QInt8,
            nodes_to_exclude=excluded,
            # The fused ops' outputs have no inferred type; they are all float32.
            extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT},
        )
        return output.read_bytes()


def _drop_quantizer_chatter(record: logging.LogRecord) -> bool:
    return not (record.levelno < logging.WARNING and "onnxruntime" in record.pathname)


class BuildRefused(RuntimeError):
    """The encoder or adapters on disk are not the ones the caller asked a model for."""


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", type=Path, required=True)
    parser.add_argument("--encoder-dir", type=Path, default=None)
    parser.add_argument("--weights-sha256", required=True, help="refuse other base weights")
    parser.add_argument("--adapters", type=Path, default=None)
    parser.add_argument("--adapters-sha256", default=None, help="refuse other adapters")
    parser.add_argument("--float-layers", type=int, default=FLOAT_LAYERS)
    args = parser.parse_args(argv)
    if (args.adapters is None) != (args.adapters_sha256 is None):
        parser.error("--adapters and --adapters-sha256 go together")

    from textencoder.encoder import SentenceEncoder  # the one TensorFlow import, by design

    encoder = SentenceEncoder(args.encoder_dir)
    if encoder.weights_sha256 != args.weights_sha256:
        raise BuildRefused(
            f"{encoder.weights_path} has sha256 {encoder.weights_sha256}, "
            f"not the requested {args.weights_sha256}"
        )
    if args.adapters is not None:
        adapters = EncoderAdapters.load(args.adapters)
        if adapters.sha256 != args.adapters_sha256:
            raise BuildRefused(f"{args.adapters} is not the requested {args.adapters_sha256}")
        encoder.merge_adapters(adapters)
    write_atomically(args.output, build_int8_model(encoder, float_layers=args.float_layers))
    return 0


if __name__ == "__main__":
    sys.exit(main())
