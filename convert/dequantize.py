"""`edge-convert dequantize`: an int8 TFLite CNN from this project -> the float Keras model its weights describe.

The face model v1 shipped as int8 only; its float checkpoint was not kept. Its int8 TFLite holds every weight
(per-channel int8 with scales) and every bias (int32 at input scale x weight scale), so the float network is
recovered exactly up to the 8-bit rounding of the weights: the same architecture, MACs and (within rounding)
outputs. That float model then goes through `edge-convert quantize` like a trained one, to rebuild the float
reference artifacts and to re-quantize (e.g. for another quantization scheme) without retraining.

Handles the sequential graphs `convert.face.models` builds: CONV_2D (BatchNorm folded, fused ReLU), MAX_POOL_2D,
MEAN (global average pooling), FULLY_CONNECTED, SOFTMAX. The in-graph mirror averaging (REVERSE_V2 +
CONCATENATION in front, the halves averaged behind) is recognised and left out: pass --mirror-average to
`quantize` to put it back.
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

import numpy as np

logger = logging.getLogger(__name__)

# Ops that only implement the in-graph mirror averaging (convert.face.models.mirror_average): skipped.
MIRROR_OPS = {"REVERSE_V2", "CONCATENATION", "SHAPE", "STRIDED_SLICE", "FLOOR_DIV", "RESHAPE", "ADD", "MUL"}


def _float_weights(it, index: int) -> np.ndarray:
    """Dequantized constant tensor: per-channel scales along axis 0 (TFLite's output-channel axis)."""
    detail = next(t for t in it.get_tensor_details() if t["index"] == index)
    q = detail["quantization_parameters"]
    w = it.get_tensor(index).astype(np.float64)
    scales, zeros = np.asarray(q["scales"], np.float64), np.asarray(q["zero_points"], np.float64)
    if scales.size == 0:
        return w.astype(np.float32)
    shape = (-1,) + (1,) * (w.ndim - 1) if scales.size > 1 else ()
    return ((w - zeros.reshape(shape)) * scales.reshape(shape)).astype(np.float32)


def layers_of(tflite_path: str | Path) -> list[tuple[str, list[np.ndarray]]]:
    """[(op, [float kernel, float bias] or []), ...] in graph order, mirror-averaging ops left out."""
    from edge.backends import open_backend

    it = open_backend(Path(tflite_path)).interpreter
    out = []
    for op in it._get_ops_details():  # noqa: SLF001 - the only listing of ops and operands LiteRT exposes
        name = op["op_name"]
        if name in MIRROR_OPS or name == "DELEGATE":
            continue
        if name == "CONV_2D":
            _, w_idx, b_idx = op["inputs"]
            w = _float_weights(it, w_idx)  # (out, kh, kw, in) -> Keras (kh, kw, in, out)
            out.append((name, [w.transpose(1, 2, 3, 0), _float_weights(it, b_idx)]))
        elif name == "FULLY_CONNECTED":
            _, w_idx, b_idx = op["inputs"]
            out.append((name, [_float_weights(it, w_idx).T, _float_weights(it, b_idx)]))
        elif name in ("MAX_POOL_2D", "MEAN", "SOFTMAX"):
            out.append((name, []))
        else:
            raise ValueError(f"{tflite_path}: op {name} is not one this recovery understands")
    return out


def keras_model(tflite_path: str | Path, input_shape: tuple[int, int, int], name: str = "recovered"):
    """The float Keras model with the TFLite file's dequantized weights."""
    import keras
    from keras import layers

    x = inp = keras.Input(input_shape, name="face")
    for op, weights in layers_of(tflite_path):
        if op == "CONV_2D":
            kh, kw, _, c_out = weights[0].shape
            conv = layers.Conv2D(c_out, (kh, kw), padding="same", activation="relu")
            x = conv(x)
            conv.set_weights(weights)
        elif op == "MAX_POOL_2D":
            x = layers.MaxPooling2D()(x)
        elif op == "MEAN":
            x = layers.GlobalAveragePooling2D()(x)
        elif op == "FULLY_CONNECTED":
            dense = layers.Dense(weights[0].shape[1], name="logits")
            x = dense(x)
            dense.set_weights(weights)
        elif op == "SOFTMAX":
            x = layers.Softmax(name="probs")(x)
    return keras.Model(inp, x, name=name)


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--tflite", required=True, help="int8 TFLite model made by `edge-convert quantize`")
    p.add_argument("--out", required=True, help="output .keras file")


def run(args: argparse.Namespace) -> int:
    from edge.description import ModelDescription

    desc = ModelDescription.load(args.tflite)
    shape = tuple(int(s) for s in desc.input.shape[1:])
    model = keras_model(args.tflite, shape, name=Path(args.out).stem)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    model.save(out)
    logger.info("%s: %d parameters, recovered from %s", out, model.count_params(), args.tflite)
    print(out)
    return 0
