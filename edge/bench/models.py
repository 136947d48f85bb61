"""Model mode: every artifact x backend x thread count, each case in its own process."""

from __future__ import annotations

import json
import logging
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

from edge.backends import SUFFIXES, BackendUnavailable, backend_class
from edge.description import DescriptionError, ModelDescription, description_path
from edge.paths import MODELS_DIR

from .system import sha256

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Artifact:
    """A model file and what its sidecar (if any) says about it."""

    path: Path
    name: str
    task: str
    precision: str
    figures: tuple = ()  # (key, value) pairs the sidecar states: MACs per face and accuracies, for the report


    @classmethod
    def load(cls, path: str | Path) -> "Artifact":
        p = Path(path)
        if not p.is_file():
            raise FileNotFoundError(f"model file {p} not found; give a .tflite or .onnx path, or none for every shipped model")
        if p.suffix not in SUFFIXES:
            raise ValueError(f"{p.name}: not a model file (use .tflite or .onnx)")
        try:
            d = ModelDescription.load(p)
            return cls(p, d.name, d.task, d.precision, tuple(sidecar_figures(p.name, d.raw).items()))
        except DescriptionError:  # BlazeFace and third-party files may come without a sidecar
            return cls(p, p.stem, "face-detection" if "blazeface" in p.stem else "?", "?")


def sidecar_figures(file: str, raw: dict[str, Any]) -> dict[str, Any]:
    """What a model's description says it scores, as report columns (absent ones are left out), and its `macs`.

    The model cards quote the same fields: the file's own PrivateTest accuracy under `metrics[<file>]`, and the
    real-photo figures under `metrics.face_photos`. `macs` is kept only to be checked: the report's MACs are
    counted from the graph (`macs_figures`).
    """
    out: dict[str, Any] = {}
    if raw.get("macs"):
        out["sidecar_macs"] = int(raw["macs"])
    metrics = raw.get("metrics") or {}
    if isinstance(metrics.get(file), dict) and "accuracy" in metrics[file]:
        out["privatetest_pct"] = round(100 * metrics[file]["accuracy"], 2)
    photos = metrics.get("face_photos") or {}
    for key, col in (("balanced_accuracy", "photos_balanced"), ("natural_mix_accuracy", "photos_natural")):
        if key in photos:
            out[col] = photos[key]
    return out


def macs_figures(path: Path, stated: int | None) -> dict[str, Any]:
    """`macs_m` counted from the model's graph, never the sidecar's figure; a sidecar that says otherwise is flagged
    (`macs_note`). A graph that cannot be counted here (no TFLite runtime, an .onnx file with no .tflite twin)
    keeps the sidecar's figure, marked unverified."""
    from edge.bench.macs import graph_macs

    counted = graph_macs(path)
    if counted is None:
        return {} if stated is None else {"macs_m": round(stated / 1e6, 1),
                                          "macs_note": "sidecar's figure, not counted here (no .tflite graph readable)"}
    out: dict[str, Any] = {"macs_m": round(counted / 1e6, 1)}
    if stated is not None and stated != counted:
        out["macs_note"] = f"sidecar says {stated:,} MACs, the graph has {counted:,}"
        logger.warning("%s: %s; the report uses the graph's (fix it: edge-convert macs %s)", path.name,
                       out["macs_note"], path)
    return out


def shipped_models(folder: Path = MODELS_DIR) -> list[Path]:
    """The model files with a description; parts of another model (the voice model's speech embedding) have none."""
    return sorted(p for p in folder.iterdir() if p.suffix in SUFFIXES and description_path(p).is_file()) \
        if folder.is_dir() else []


def backends_for(path: Path, wanted: Sequence[str] | None) -> list[str]:
    """Backends that read this format: the wanted ones, or all (missing ones get a marked row)."""
    readers = SUFFIXES[path.suffix]
    return [b for b in readers if not wanted or b in wanted]


def backend_missing(name: str) -> str | None:
    """None when the backend's library imports, else the error that names the package."""
    try:
        backend_class(name)
        return None
    except BackendUnavailable as e:
        return str(e)


def run_in_child(case: dict[str, Any], timeout: float) -> dict[str, Any]:
    """Run one case through `python -m edge.bench.worker`; a crash or hang becomes an error."""
    try:
        proc = subprocess.run([sys.executable, "-m", "edge.bench.worker", json.dumps(case)],
                              capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return {"error": f"timed out after {timeout:.0f} s"}
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("{")]
    if proc.returncode != 0 or not lines:
        tail = (proc.stderr.strip().splitlines() or ["no output"])[-1]
        return {"error": f"worker exited {proc.returncode}: {tail}"}
    return json.loads(lines[-1])


def bench_models(paths: Sequence[str | Path], threads: Sequence[int] = (1,), backends: Sequence[str] | None = None,
                 min_time: float = 2.0, warmup_time: float = 0.5,
                 providers: Sequence[str] | None = None) -> tuple[list[dict[str, Any]], dict[str, list[float]]]:
    """Rows for the report, and the timed samples of each ok row (for the plot)."""
    rows, samples = [], {}
    missing = {name: backend_missing(name) for name in {b for bs in SUFFIXES.values() for b in bs}}
    for path in paths:
        art = Artifact.load(path)
        figures = dict(art.figures)
        stated = figures.pop("sidecar_macs", None)
        base = {"model": art.path.name, "name": art.name, "task": art.task, "precision": art.precision,
                "format": art.path.suffix.lstrip("."), "size_kb": round(art.path.stat().st_size / 1024, 1),
                "sha256": sha256(art.path), **figures, **macs_figures(art.path, stated)}
        chosen = backends_for(art.path, backends)
        if not chosen:
            logger.warning("%s: none of %s reads %s files; skipped", art.path.name, ", ".join(backends or []), art.path.suffix)
        for backend in chosen:
            if missing[backend]:
                rows.append({"id": f"{art.path.name}|{backend}|-", **base, "backend": backend, "threads": None,
                             "status": "missing", "error": missing[backend]})
                logger.info("%s: %s", art.path.name, missing[backend])
                continue
            for n in threads:
                case = {"path": str(art.path), "backend": backend, "threads": int(n), "min_time": min_time,
                        "warmup_time": warmup_time, "providers": list(providers) if providers else None}
                logger.info("%s on %s, %d thread(s)", art.path.name, backend, n)
                result = run_in_child(case, timeout=120 + 5 * (min_time + warmup_time))
                row = {"id": f"{art.path.name}|{backend}|{n}", **base, "backend": backend, "threads": int(n)}
                if "error" in result:
                    rows.append({**row, "status": "failed", "error": result["error"]})
                    logger.warning("%s on %s failed: %s", art.path.name, backend, result["error"])
                    continue
                samples[row["id"]] = result.pop("plot_ms")
                rows.append({**row, "status": "ok", **result})
    return rows, samples


def speedups(rows: Sequence[dict[str, Any]]) -> dict[str, str]:
    """int8 vs float at the median for each model shipped in both precisions (same backend and threads)."""
    ok = {(r["model"], r["backend"], r["threads"]): r for r in rows if r.get("status") == "ok"}
    out = {}
    for (model, backend, n), q in ok.items():
        stem, _, suffix = model.rpartition("_int8")
        if not stem or not suffix.startswith("."):
            continue
        for float_name in (f"{stem}_float32{suffix}", f"{stem}_float{suffix}"):
            f = ok.get((float_name, backend, n))
            if f:
                out[f"{model} vs {float_name} ({backend}, {n} thr)"] = (
                    f"speed-up {f['p50_ms'] / q['p50_ms']:.2f}x at p50 (int8 {q['p50_ms']:.4g} ms, float {f['p50_ms']:.4g} ms)")
    return out
