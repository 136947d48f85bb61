"""Latency summaries (percentiles, not a single mean) and report-to-report ratios."""

from __future__ import annotations

import time
from typing import Any, Callable, Iterable, Sequence

import numpy as np

PERCENTILES = (50, 90, 95, 99)
IDENTIFIERS = ("threads",)  # numeric, but they name the case rather than measure it


def timed(fn: Callable[[], Any], seconds: float, warmup: int = 20, min_runs: int = 50,
          clock: Callable[[], float] = time.perf_counter) -> list[float]:
    """Warm up, then call `fn` for at least `seconds` (wall clock) and `min_runs` times; per-call milliseconds
    of `clock` (time.thread_time: this thread's CPU time, without the waits of a busy machine)."""
    for _ in range(warmup):
        fn()
    out, end = [], time.perf_counter() + seconds
    while time.perf_counter() < end or len(out) < min_runs:
        t = clock()
        fn()
        out.append((clock() - t) * 1e3)
    return out


def summarize(samples_ms: Sequence[float]) -> dict[str, float]:
    """Timed samples in milliseconds -> p50/p90/p95/p99, mean, std, min, max, count."""
    a = np.asarray(samples_ms, dtype=np.float64)
    if a.size == 0:
        return {"n": 0}
    out = {f"p{p}_ms": float(np.percentile(a, p)) for p in PERCENTILES}
    out.update(mean_ms=float(a.mean()), std_ms=float(a.std(ddof=1)) if a.size > 1 else 0.0,
               min_ms=float(a.min()), max_ms=float(a.max()), n=int(a.size))
    return out


def numeric_figures(row: dict[str, Any]) -> dict[str, float]:
    """The numbers of one result row (bools and identifiers left out)."""
    return {k: float(v) for k, v in row.items()
            if isinstance(v, (int, float)) and not isinstance(v, bool) and k not in IDENTIFIERS}


def ratios(old_rows: Iterable[dict[str, Any]], new_rows: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """Every figure present in both reports, matched by row id: old, new and new/old."""
    old = {r["id"]: numeric_figures(r) for r in old_rows}
    out = []
    for row in new_rows:
        before = old.get(row["id"])
        if before is None:
            continue
        for key, value in numeric_figures(row).items():
            if key in before:
                ratio = value / before[key] if before[key] else None
                out.append({"id": row["id"], "figure": key, "old": before[key], "new": value, "ratio": ratio})
    return out
