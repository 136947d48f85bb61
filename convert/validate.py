"""`edge-convert validate`: evaluate model artifacts through edge/ (the runtime's own code) and write the report."""

from __future__ import annotations

import argparse
import logging
import platform
import re
import sys
import time
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from edge.model import Model

from .report import metrics, write_report

logger = logging.getLogger(__name__)

MAX_INT8_DROP = 1.0  # accuracy points an int8 artifact may lose against its float32 twin
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


def evaluate(paths: Sequence[Path], x: np.ndarray, y: np.ndarray, labels: Sequence[str], threads: int = 1,
             latency_seconds: float = 2.0) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """One row per artifact (metrics, size, latency, agreement with its float twin) and the int8-drop checks."""
    rows, preds = [], {}  # preds by file name: a float twin may sit in another folder
    for path in paths:
        model = Model(path, threads=threads)
        p = predict(model, x).argmax(1)
        preds[path.name] = p
        row = {"file": path.name, "backend": model.backend.name, "precision": model.description.precision,
               "size_bytes": path.stat().st_size, **metrics(y, p, labels), "agreement": None,
               "latency_ms": latency_ms(model, x[0], latency_seconds) if latency_seconds else None}
        rows.append(row)
        logger.info("%s: accuracy %.4f macro-F1 %.4f", path.name, row["accuracy"], row["macro_f1"])
    checks = []
    for path, row in zip(paths, rows):
        twin = float_twin(path)
        if twin == path or twin.name not in preds:
            continue
        row["agreement"] = float((preds[path.name] == preds[twin.name]).mean())
        ref = next(r for r in rows if r["file"] == twin.name)
        drop = 100 * (ref["accuracy"] - row["accuracy"])
        checks.append({"name": f"{path.name} within {MAX_INT8_DROP} point of {twin.name}", "ok": drop <= MAX_INT8_DROP,
                       "detail": f"drop {drop:.2f} points"})
    return rows, checks


def environment(threads: int) -> dict[str, Any]:
    import edge

    versions = {}
    for mod in ("ai_edge_litert", "onnxruntime", "numpy"):
        try:
            versions[mod] = __import__(mod).__version__
        except (ImportError, AttributeError):
            versions[mod] = None
    cpu = next((l.split(":", 1)[1].strip() for l in Path("/proc/cpuinfo").read_text().splitlines()
                if l.startswith("model name")), platform.processor()) if Path("/proc/cpuinfo").exists() else platform.processor()
    import os

    affinity = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None  # taskset pinning, if any
    return {"cpu": cpu, "machine": platform.machine(), "cpus_allowed": affinity, "cpu_count": os.cpu_count(),
            "python": platform.python_version(), "threads": threads,
            "edge_emotion": edge.__version__, **versions}


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--task", choices=("face",), default="face")
    p.add_argument("--data", required=True, help="the dataset (face: fer2013.csv.gz; PrivateTest is evaluated)")
    p.add_argument("--models", nargs="+", required=True, help="artifacts to evaluate; X_int8.* is compared with X_float32.*")
    p.add_argument("--report", required=True, help="report path stem: writes STEM.md and STEM.json")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--latency-seconds", type=float, default=3.0, help="timed seconds per artifact (0: skip latency)")


def run(args: argparse.Namespace) -> int:
    from . import face_task

    x, y = face_task.evaluation(args.data)
    paths = [Path(m) for m in args.models]
    rows, checks = evaluate(paths, x, y, face_task.FACE_LABELS, args.threads, args.latency_seconds)
    env = environment(args.threads)
    report = {"title": "Face model validation (FER2013 PrivateTest, through edge.model.Model)",
              "notes": [f"Data: `{args.data}`, PrivateTest, {len(y)} faces. Command: `edge-convert {' '.join(sys.argv[1:])}`",
                        f"Latency: one face per call, {args.threads} thread(s), {args.latency_seconds:g} s timed after "
                        f"{LATENCY_WARMUP} warm-up runs; CPU: {env['cpu']}, cores allowed {env['cpus_allowed']} of {env['cpu_count']}."],
              "labels": list(face_task.FACE_LABELS), "environment": env,
              "artifacts": rows, "checks": checks}
    js, md = write_report(report, args.report)
    print(md.read_text())
    failed = [c["name"] for c in checks if not c["ok"]]
    if failed:
        logger.error("int8 accuracy more than %.1f point below float: %s", MAX_INT8_DROP, "; ".join(failed))
        return 1
    return 0
