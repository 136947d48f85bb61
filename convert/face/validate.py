"""`edge-convert validate-face`: evaluate model artifacts through edge/ (the runtime's own code) and write the report."""

from __future__ import annotations

import argparse
import logging
import re
import sys
import time
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np

from edge.classify.model import Model

from ..report import metrics, write_report

logger = logging.getLogger(__name__)

MAX_INT8_DROP = 1.0  # accuracy points an int8 artifact may lose against its float32 twin
# The int8 ONNX and int8 TFLite files come from one float model and one calibration set; more than this gap means one
# runtime computes something else (the saturating AVX2 kernels of issue 10 cost 2.3 points).
MAX_FORMAT_GAP = 0.5
LATENCY_WARMUP = 20


def predict(model: Model, x: np.ndarray, batch: int = 256) -> np.ndarray:
    """Probabilities for all of `x`, in batches."""
    return np.concatenate([model.predict(x[i:i + batch]) for i in range(0, len(x), batch)])


def latency_ms(model: Model, sample: np.ndarray, seconds: float) -> dict[str, float]:
    """Single-sample latency: warm-up, then timed invocations for at least `seconds`; percentiles in ms."""
    xq = model.quantize(sample[None])
    for _ in range(LATENCY_WARMUP):
        model.predict_raw(xq)
    times = []
    end = time.perf_counter() + seconds
    while time.perf_counter() < end or len(times) < 50:
        t0 = time.perf_counter()
        model.predict_raw(xq)
        times.append(time.perf_counter() - t0)
    t = np.array(times) * 1e3
    return {"p50": float(np.percentile(t, 50)), "p90": float(np.percentile(t, 90)), "mean": float(t.mean()), "runs": len(t)}


def float_twin(path: Path) -> Path:
    """`face_int8.tflite` -> `face_float32.tflite`."""
    return path.with_name(re.sub(r"_int8(?=\.)", "_float32", path.name))


def drift(p: np.ndarray, ref: np.ndarray) -> dict[str, Any]:
    """How far an int8 artifact's probabilities move from its float twin's, and which faces change label.

    `flip_margin_max`: the largest float top-2 margin among faces whose label changed. Rounding only flips
    near-ties (v1: margins below 0.025); a broken kernel flips confident faces too. tests/test_face_golden.py
    sets its tolerances from these figures.
    """
    top2 = np.sort(ref, 1)[:, -2:]
    margin = top2[:, 1] - top2[:, 0]
    flipped = p.argmax(1) != ref.argmax(1)
    shift = np.abs(p - ref).max(1)
    return {"agreement": float(1.0 - flipped.mean()), "prob_shift_p99": float(np.percentile(shift, 99)),
            "prob_shift_max": float(shift.max()), "flipped": int(flipped.sum()),
            "flip_margin_max": float(margin[flipped].max()) if flipped.any() else 0.0}


def evaluate(paths: Sequence[Path], x: np.ndarray | Callable[[dict], np.ndarray], y: np.ndarray, labels: Sequence[str],
             threads: int = 1, latency_seconds: float = 2.0) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """One row per artifact (metrics, size, latency, agreement with its float twin) and the int8-drop checks.

    `x`: the inputs, or a function of a model's preprocessing spec that returns them (an aligned model sees
    FER2013 faces aligned on BlazeFace's keypoints, as the device would align them).
    """
    rows, probs = [], {}  # probabilities by file name: a float twin may sit in another folder
    for path in paths:
        model = Model(path, threads=threads)
        xs = x(model.description.preprocess) if callable(x) else x
        probs[path.name] = predict(model, xs)
        p = probs[path.name].argmax(1)
        row = {"file": path.name, "backend": model.backend.name, "precision": model.description.precision,
               "size_bytes": path.stat().st_size, **metrics(y, p, labels), "agreement": None,
               "latency_ms": latency_ms(model, xs[0], latency_seconds) if latency_seconds else None}
        rows.append(row)
        logger.info("%s: accuracy %.4f macro-F1 %.4f", path.name, row["accuracy"], row["macro_f1"])
    checks = []
    by_name = {r["file"]: r for r in rows}
    for path, row in zip(paths, rows):
        tflite = by_name.get(path.with_suffix(".tflite").name) if path.suffix == ".onnx" else None
        if tflite is not None and path.stem.endswith("_int8"):
            gap = 100 * abs(tflite["accuracy"] - row["accuracy"])
            checks.append({"name": f"{path.name} within {MAX_FORMAT_GAP} point of {tflite['file']}",
                           "ok": gap <= MAX_FORMAT_GAP, "detail": f"gap {gap:.2f} points"})
        twin = float_twin(path)
        if twin == path or twin.name not in probs:
            continue
        row.update(drift(probs[path.name], probs[twin.name]))
        ref = next(r for r in rows if r["file"] == twin.name)
        drop = 100 * (ref["accuracy"] - row["accuracy"])
        checks.append({"name": f"{path.name} within {MAX_INT8_DROP} point of {twin.name}", "ok": drop <= MAX_INT8_DROP,
                       "detail": f"drop {drop:.2f} points"})
    return rows, checks


def environment(threads: int) -> dict[str, Any]:
    """edge-bench's machine description (CPU, int8 instruction path, versions) plus this run's threads and pinning."""
    import os

    from edge.bench.system import system_info

    affinity = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None  # taskset pinning, if any
    return {**system_info(), "threads": threads, "cpus_allowed": affinity}


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--task", choices=("face",), default="face")
    p.add_argument("--data", required=True, help="the dataset (face: fer2013.csv.gz; PrivateTest is evaluated)")
    p.add_argument("--models", nargs="+", required=True, help="artifacts to evaluate; X_int8.* is compared with X_float32.*")
    p.add_argument("--report", required=True, help="report path stem: writes STEM.md and STEM.json")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--latency-seconds", type=float, default=3.0, help="timed seconds per artifact (0: skip latency)")
    p.add_argument("--ferplus", default=None, metavar="CSV",
                   help="judge PrivateTest by the FER+ majority vote (ferplus.csv; rows whose top vote is contempt, "
                        "unknown, not-a-face or tied left out) instead of FER2013's single labels")
    p.add_argument("--limit", type=int, default=None,
                   help="only the first N faces of the split (e.g. under an emulated CPU, ~50x slower)")


def run(args: argparse.Namespace) -> int:
    from . import task

    import json

    inputs: dict[str, np.ndarray] = {}
    faces = task.load(args.data, splits=("PrivateTest",))["PrivateTest"]
    faces = task.with_ferplus(faces, "PrivateTest", args.ferplus)
    faces = faces.take(np.arange(min(len(faces), args.limit or len(faces))))
    y = faces.y

    def x_for(spec: dict) -> np.ndarray:  # one preparation per distinct preprocessing (BlazeFace runs once)
        key = json.dumps(spec, sort_keys=True)
        if key not in inputs:
            inputs[key] = task.pixels_to_input(task.prepared(faces.x, spec), spec)
        return inputs[key]

    paths = [Path(m) for m in args.models]
    rows, checks = evaluate(paths, x_for, y, task.FACE_LABELS, args.threads, args.latency_seconds)
    env = environment(args.threads)
    judge = "FER+ majority vote" if args.ferplus else "FER2013 labels"
    report = {"title": f"Face model validation (FER2013 PrivateTest, {judge}, through edge.classify.model.Model)",
              "notes": [f"Data: `{args.data}`, PrivateTest, {len(y)} faces, judged by {judge}. Command: `edge-convert {' '.join(sys.argv[1:])}`",
                        f"Latency: one face per call, {args.threads} thread(s), {args.latency_seconds:g} s timed after "
                        f"{LATENCY_WARMUP} warm-up runs; cores allowed {env['cpus_allowed']} of {env['cores_logical']}."],
              "labels": list(task.FACE_LABELS), "system": env,
              "artifacts": rows, "checks": checks}
    js, md = write_report(report, args.report)
    print(md.read_text())
    failed = [c["name"] for c in checks if not c["ok"]]
    if failed:
        logger.error("int8 accuracy more than %.1f point below float: %s", MAX_INT8_DROP, "; ".join(failed))
        return 1
    return 0
