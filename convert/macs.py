"""Multiply-accumulates per inference, counted from a converted .tflite file's own graph, and `edge-convert macs`.

Counted over the ops that do the multiplying (convolutions, fully connected, batch matmul) at the shapes stored in
the file (batch of one at the input; a mirror-averaged face graph runs two images inside, and counts both). The
sidecar's `macs` is what the latency estimates for other CPUs scale by (benchmarks/device_latency.py).
"""

from __future__ import annotations

import argparse
import json
import logging
from pathlib import Path

import numpy as np

from edge.description import description_path

logger = logging.getLogger(__name__)


def tflite_macs(path: str | Path) -> int:
    """MACs of one invocation of a .tflite model, at the shapes the interpreter plans for a batch of one."""
    from ai_edge_litert.interpreter import Interpreter, OpResolverType

    # Without the default XNNPACK delegate: delegated tensors keep the file's stored shapes (a batch dimension of 1
    # where the graph concatenates a mirror image, say), the plain interpreter propagates the real ones.
    it = Interpreter(model_path=str(path), experimental_op_resolver_type=OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES)
    it.allocate_tensors()
    shape = {d["index"]: [int(s) for s in d["shape"]] for d in it.get_tensor_details()}
    total = 0
    for op in it._get_ops_details():  # the interpreter's own op list (name, input and output tensor indices)
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


def _tflite_twin(path: Path) -> Path:
    """The .tflite file of the same network: itself, `<stem>.tflite`, or `<name>_*.tflite` (face_float16.onnx ->
    face_int8.tflite: precision changes the arithmetic, not the count)."""
    if path.suffix == ".tflite":
        return path
    twins = [path.with_suffix(".tflite")] + sorted(path.parent.glob(path.stem.rsplit("_", 1)[0] + "_*.tflite"))
    found = next((t for t in twins if t.is_file()), None)
    if found is None:
        raise FileNotFoundError(f"{path.name}: MACs are counted from a .tflite graph of the same network; none beside it")
    return found


def add_macs(model_path: Path, macs: int | None = None) -> int:
    """Write `macs` into the sidecar of a model file (counted from the file itself, or from its .tflite twin)."""
    model_path = Path(model_path)
    if macs is None:
        macs = tflite_macs(_tflite_twin(model_path))
    side = description_path(model_path)
    d = json.loads(side.read_text())
    d["macs"] = int(macs)
    side.write_text(json.dumps(d, indent=2) + "\n")
    return int(macs)


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("models", nargs="+", type=Path, help="model files whose sidecars get `macs` (an .onnx file takes its "
                                                          ".tflite twin's count: the same network)")


def run(args: argparse.Namespace) -> int:
    for path in args.models:
        print(f"{path}: {add_macs(path):,} MACs per inference")
    return 0
