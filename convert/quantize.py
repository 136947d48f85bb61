"""Keras model -> TFLite and ONNX artifacts (float32 reference and int8), each with its sidecar description.

A table of targets plus one function per target; `export_all` runs them in order and
logs time, path and size of each. Used by the face and the voice model alike.
"""

from __future__ import annotations

import json
import logging
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np

from edge.description import SCHEMA, ModelDescription, description_path

logger = logging.getLogger(__name__)

# Fewer calibration samples give unstable activation ranges (Ultralytics refuses too few, too).
MIN_CALIBRATION = 300
ONNX_OPSET = 17


class CalibrationError(ValueError):
    """The calibration set is too small or has the wrong shape."""


@dataclass(frozen=True)
class Export:
    """What one target function gets: the loaded Keras model, the calibration set and the artifacts so far."""

    model: Any
    calib: np.ndarray
    done: dict[str, Path]


def _concrete_function(model):
    import tensorflow as tf

    # Batch left open so the runtime can run one face or a whole validation batch.
    spec = tf.TensorSpec((None,) + tuple(model.inputs[0].shape[1:]), tf.float32, name="input")
    return tf.function(lambda x: model(x, training=False), input_signature=[spec]), spec


def _tflite(ex: Export, out: Path, int8: bool) -> None:
    import tensorflow as tf

    with tempfile.TemporaryDirectory() as tmp:
        # Through a SavedModel: converting the Keras 3 model's concrete function leaves its variables unfrozen.
        ex.model.export(tmp, format="tf_saved_model", verbose=False)
        conv = tf.lite.TFLiteConverter.from_saved_model(tmp)
        if int8:
            conv.optimizations = [tf.lite.Optimize.DEFAULT]
            conv.representative_dataset = lambda: ([ex.calib[i:i + 1]] for i in range(len(ex.calib)))
            conv.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
            conv.inference_input_type = tf.int8
            conv.inference_output_type = tf.int8
        out.write_bytes(conv.convert())


def export_tflite_float32(ex: Export, out: Path) -> None:
    """TFLite float32, the reference the int8 model is compared with."""
    _tflite(ex, out, int8=False)


def export_tflite_int8(ex: Export, out: Path) -> None:
    """TFLite full-integer int8 with int8 input and output, calibrated on `calib`."""
    _tflite(ex, out, int8=True)


def export_onnx_float32(ex: Export, out: Path) -> None:
    """ONNX float32 through tf2onnx."""
    import tf2onnx

    fn, spec = _concrete_function(ex.model)
    tf2onnx.convert.from_function(fn, input_signature=[spec], opset=ONNX_OPSET, output_path=str(out))


def export_onnx_float16(ex: Export, out: Path) -> None:
    """ONNX float16 weights and activations, float32 input and output: the GPU model for TensorRT/CUDA on a Jetson
    Nano, whose Maxwell GPU has no int8 path (the QDQ int8 file would fall back to float32 or the CPU there)."""
    import onnx
    from onnxruntime.transformers.float16 import convert_float_to_float16

    with tempfile.TemporaryDirectory() as tmp:
        src = ex.done.get("onnx-float32")
        if src is None:
            src = Path(tmp) / "float32.onnx"
            export_onnx_float32(ex, src)
        # keep_io_types: the runtime feeds float32 pixels and reads float32 probabilities, as with every other file.
        half = convert_float_to_float16(onnx.load(str(src)), keep_io_types=True)
        onnx.save(half, str(out))


class _Reader:
    """onnxruntime calibration reader: one sample per call, like the TFLite representative dataset."""

    def __init__(self, name: str, calib: np.ndarray) -> None:
        self.name, self.calib, self.i = name, calib, 0

    def get_next(self):
        if self.i >= len(self.calib):
            return None
        self.i += 1
        return {self.name: self.calib[self.i - 1:self.i]}


# One int8 ONNX file for every CPU. onnxruntime's x86 kernels without VNNI (AVX2, AVX-512 before Cascade Lake)
# multiply u8 activations by s8 weights with VPMADDUBSW, whose int16 pair sums saturate above 32767: with 8-bit
# weights (255 * 127 * 2 = 64770) a face model lost 2.3 points of PrivateTest accuracy on an AVX2-only CPU and none
# on an AMX one. 7-bit weights (reduce_range: 255 * 63 * 2 = 32130) cannot saturate; u8 activations are what those
# kernels take natively. This is onnxruntime's own advice for non-VNNI x86 (quantize_static's docstring), and
# VNNI and ARM kernels run the same file exactly.
ONNX_QUANT = {"activation_type": "QUInt8", "weight_type": "QInt8", "reduce_range": True, "per_channel": True,
              "format": "QDQ", "calibration": "MinMax"}


def export_onnx_int8(ex: Export, out: Path) -> None:
    """ONNX int8: onnxruntime static quantization (ONNX_QUANT), same calibration set as TFLite."""
    import onnxruntime as ort
    from onnxruntime.quantization import CalibrationMethod, QuantFormat, QuantType, quantize_static
    from onnxruntime.quantization.shape_inference import quant_pre_process

    with tempfile.TemporaryDirectory() as tmp:
        src = ex.done.get("onnx-float32")
        if src is None:
            src = Path(tmp) / "float32.onnx"
            export_onnx_float32(ex, src)
        prep = Path(tmp) / "prep.onnx"
        # Shape inference + folding, as onnxruntime advises; ONNX shape inference suffices for a static CNN (no sympy).
        quant_pre_process(str(src), str(prep), skip_symbolic_shape=True)
        name = ort.InferenceSession(str(prep), providers=["CPUExecutionProvider"]).get_inputs()[0].name
        q = ONNX_QUANT
        quantize_static(str(prep), str(out), _Reader(name, ex.calib), quant_format=QuantFormat[q["format"]],
                        per_channel=q["per_channel"], reduce_range=q["reduce_range"],
                        activation_type=QuantType[q["activation_type"]], weight_type=QuantType[q["weight_type"]],
                        calibrate_method=CalibrationMethod[q["calibration"]])


@dataclass(frozen=True)
class Target:
    suffix: str
    format: str
    precision: str
    export: Callable[[Export, Path], None]
    scheme: dict[str, Any] | None = None  # how the weights and activations were quantized, written to the sidecar


# Order matters: onnx-int8 reuses the onnx-float32 file when it was made first.
TARGETS: dict[str, Target] = {
    "tflite-float32": Target("_float32.tflite", "tflite", "float32", export_tflite_float32),
    "tflite-int8": Target("_int8.tflite", "tflite", "int8", export_tflite_int8,
                          {"activation_type": "int8", "weight_type": "int8", "per_channel": True,
                           "converter": "TFLiteConverter full-integer"}),
    "onnx-float32": Target("_float32.onnx", "onnx", "float32", export_onnx_float32),
    "onnx-int8": Target("_int8.onnx", "onnx", "int8", export_onnx_int8, ONNX_QUANT),
    "onnx-float16": Target("_float16.onnx", "onnx", "float16", export_onnx_float16,
                           {"weight_type": "float16", "activation_type": "float16", "io_type": "float32",
                            "converter": "onnxruntime.transformers.float16, keep_io_types"}),
}


def tensor_specs(path: Path) -> tuple[dict[str, Any], dict[str, Any]]:
    """Input and output spec (shape, dtype, quantization) read back from the converted file itself."""
    from edge.backends import open_backend

    backend = open_backend(path)

    def spec(t) -> dict[str, Any]:
        d: dict[str, Any] = {"shape": [int(s) if isinstance(s, (int, np.integer)) and s > 0 else -1 for s in t.shape],
                             "dtype": np.dtype(t.dtype).name}
        if t.scale:
            d["quantization"] = {"scale": float(t.scale), "zero_point": int(t.zero_point)}
        return d

    return spec(backend.inputs[0]), spec(backend.outputs[0])


def write_description(path: Path, target: Target, base: dict[str, Any], macs: int | None = None) -> Path:
    """Sidecar `<file>.json`: the caller's fields plus format, precision and tensor specs of this file."""
    inp, outp = tensor_specs(path)
    d = {"schema": SCHEMA, **base, "format": target.format, "precision": target.precision, "input": inp, "output": outp,
         "file": path.name}
    if macs is not None:
        d["macs"] = int(macs)  # per inference, batch of one: what latency estimates for other CPUs scale by
    if target.scheme:
        d["quantization_scheme"] = dict(target.scheme)
    d.setdefault("name", path.stem)
    ModelDescription.from_dict(d, str(path))  # refuse to write an incomplete description
    side = description_path(path)
    side.write_text(json.dumps(d, indent=2) + "\n")
    return side


def _macs(path: Path, done: dict[str, Path]) -> int | None:
    """MACs from this file's graph, or for ONNX from a .tflite file of the same run (the same network)."""
    from .macs import tflite_macs

    tflite = path if path.suffix == ".tflite" else next((p for p in done.values() if p.suffix == ".tflite"), None)
    return tflite_macs(tflite) if tflite else None


def float32_model(model):
    """`model` with every layer computing in float32: a model saved while training in bf16 (`--precision bf16`,
    Keras mixed_bfloat16) keeps that policy per layer, which the TFLite and ONNX converters cannot lower. The same
    graph is rebuilt from its config with the policies replaced, and the (float32) weights copied over."""
    import keras

    if all(getattr(layer, "dtype_policy", None) is None or layer.dtype_policy.name == "float32" for layer in model.layers):
        return model

    def plain(obj):
        if isinstance(obj, dict):
            if obj.get("class_name") == "DTypePolicy":
                return "float32"
            return {k: plain(v) for k, v in obj.items()}
        if isinstance(obj, list):
            return [plain(v) for v in obj]
        return obj

    rebuilt = model.__class__.from_config(plain(model.get_config()))
    rebuilt.set_weights(model.get_weights())
    return rebuilt


def check_calibration(calib: np.ndarray, input_shape: tuple) -> np.ndarray:
    """At least MIN_CALIBRATION float32 samples shaped like the model input."""
    calib = np.asarray(calib, dtype=np.float32)
    if calib.ndim < 2 or len(calib) < MIN_CALIBRATION:
        raise CalibrationError(f"calibration needs at least {MIN_CALIBRATION} samples, got {len(calib) if calib.ndim else 0}; "
                               "pass more training data (e.g. --calib 1000)")
    if tuple(calib.shape[1:]) != tuple(input_shape):
        raise CalibrationError(f"calibration samples have shape {calib.shape[1:]}, the model takes {tuple(input_shape)}")
    return calib


def export_all(keras_model: str | Path | Any, calib: np.ndarray, out_dir: str | Path, stem: str,
               description: dict[str, Any], targets: tuple[str, ...] = tuple(TARGETS)) -> dict[str, Path]:
    """Write `<stem><suffix>` and its sidecar for each target; returns {target: path}.

    `keras_model` is a `.keras` path or a model already in memory.
    """
    import keras

    unknown = [t for t in targets if t not in TARGETS]
    if unknown:
        raise ValueError(f"unknown targets {unknown}; choose from {', '.join(TARGETS)}")
    model = float32_model(keras_model if isinstance(keras_model, keras.Model)
                          else keras.saving.load_model(keras_model, compile=False))
    calib = check_calibration(calib, tuple(model.inputs[0].shape[1:]))
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    ex = Export(model, calib, {})
    for name in targets:
        target = TARGETS[name]
        path = out_dir / f"{stem}{target.suffix}"
        t0 = time.perf_counter()
        target.export(ex, path)
        write_description(path, target, description, _macs(path, ex.done))
        ex.done[name] = path
        logger.info("%s: %s (%.1f kB) in %.1f s", name, path, path.stat().st_size / 1e3, time.perf_counter() - t0)
    return dict(ex.done)
