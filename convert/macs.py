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

from edge.description import description_path
from edge.bench.macs import tflite_macs  # noqa: F401 - one counter, in edge/ (edge-bench counts with it)

logger = logging.getLogger(__name__)


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
