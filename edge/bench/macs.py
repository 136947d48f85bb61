"""Multiply-accumulates per inference, counted from a model's own .tflite graph with the device's TFLite runtime.

Counted over the ops that do the multiplying (convolutions, fully connected, batch matmul) at the shapes the
interpreter plans for a batch of one (a mirror-averaged face graph runs two images inside, and counts both).
`edge-bench` reports this count, never a sidecar's `macs` (a sidecar copied from another model would lie);
`edge-convert macs` writes it into the sidecar.
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path

import numpy as np

from ..backends import SUFFIXES, BackendUnavailable, backend_class

logger = logging.getLogger(__name__)


def _plain_interpreter(path: Path):
    """An interpreter of the first TFLite runtime installed, without its default XNNPACK delegate.

    Delegated tensors keep the file's stored shapes (a batch of 1 where the graph concatenates a mirror image,
    say); the plain interpreter propagates the real ones.
    """
    errors = []
    for name in SUFFIXES[".tflite"]:
        try:
            cls = backend_class(name).interpreter_class
        except BackendUnavailable as e:
            errors.append(str(e))
            continue
        resolver = getattr(sys.modules[cls.__module__], "OpResolverType", None)
        if resolver is None:  # an old tflite-runtime: the default resolver (shapes as stored)
            return cls(model_path=str(path))
        return cls(model_path=str(path), experimental_op_resolver_type=resolver.BUILTIN_WITHOUT_DEFAULT_DELEGATES)
    raise BackendUnavailable("MACs are counted through a TFLite runtime: " + "; ".join(errors))


def tflite_macs(path: str | Path) -> int:
    """MACs of one invocation of a .tflite model, at the shapes the interpreter plans for a batch of one."""
    it = _plain_interpreter(Path(path))
    it.allocate_tensors()
    ops = it._get_ops_details()  # the interpreter's own op list (name, input and output tensor indices)
    # Only the shapes of the tensors the ops use, read one by one: tflite-runtime 2.13's get_tensor_details() reads
    # every tensor's name and signature and crashes (SIGSEGV) on the scratch tensors of some graphs.
    needed = {int(i) for op in ops for i in (*op["inputs"], *op["outputs"]) if int(i) >= 0}
    shape = {i: [int(v) for v in _tensor_size(it, i)] for i in needed}
    total = 0
    for op in ops:
        name, ins, out = op["op_name"], list(op["inputs"]), int(np.prod(shape[op["outputs"][0]]))
        if name == "CONV_2D":  # filter (O, kh, kw, I)
            total += out * int(np.prod(shape[ins[1]][1:]))
        elif name == "DEPTHWISE_CONV_2D":  # filter (1, kh, kw, O)
            total += out * shape[ins[1]][1] * shape[ins[1]][2]
        elif name == "FULLY_CONNECTED":  # weights (O, I)
            total += out * shape[ins[1]][-1]
        elif name == "BATCH_MATMUL":
            total += out * shape[ins[0]][-1]
        elif name == "TRANSPOSE_CONV":  # filter (O, kh, kw, I): each input pixel scatters kh*kw*O products
            total += int(np.prod(shape[ins[2]])) * int(np.prod(shape[ins[1]][:3]))
    return int(total)


def _tensor_size(it, index: int):
    try:
        return it._interpreter.TensorSize(index, 0)  # (tensor, subgraph): LiteRT and tflite-runtime 2.x
    except TypeError:
        return it._interpreter.TensorSize(index)


def tflite_twin(path: str | Path) -> Path | None:
    """The .tflite graph of the same network: itself, `<stem>.tflite`, or `<name>_*.tflite` (face_float16.onnx ->
    face_int8.tflite: precision changes the arithmetic, not the count); None when there is none."""
    path = Path(path)
    if path.suffix == ".tflite":
        return path
    twins = [path.with_suffix(".tflite")] + sorted(path.parent.glob(path.stem.rsplit("_", 1)[0] + "_*.tflite"))
    return next((t for t in twins if t.is_file()), None)


def graph_macs(path: str | Path) -> int | None:
    """MACs counted from the model's graph (an .onnx file: its .tflite twin's); None when it cannot be counted here."""
    twin = tflite_twin(path)
    if twin is None:
        return None
    try:
        return tflite_macs(twin)
    except (BackendUnavailable, ValueError, RuntimeError) as e:
        logger.warning("%s: MACs not counted (%s)", Path(path).name, e)
        return None
