"""Health figures for the stats topic and benchmarks: per-stage latency percentiles, CPU, memory, temperature."""

from __future__ import annotations

import collections
import glob
import os
import resource
from typing import Any, Iterable

import numpy as np


class StageTimes:
    """The last `size` timings of every pipeline stage, for p50/p95 without unbounded memory."""

    def __init__(self, size: int = 512) -> None:
        self._d: dict[str, collections.deque] = collections.defaultdict(lambda: collections.deque(maxlen=size))

    def add(self, timing_ms: dict[str, float]) -> None:
        for k, v in timing_ms.items():
            self._d[k].append(v)

    def summary(self, stages: Iterable[str] | None = None) -> dict[str, dict[str, float]]:
        out = {}
        for k in stages or self._d:
            v = np.asarray(self._d.get(k, ()), np.float64)
            if len(v):
                out[k] = {"p50": round(float(np.percentile(v, 50)), 3), "p95": round(float(np.percentile(v, 95)), 3)}
        return out


def cpu_temperature_c() -> float | None:
    """Highest thermal-zone temperature (Raspberry Pi and Jetson expose them here); None where unreadable."""
    temps = []
    for path in glob.glob("/sys/class/thermal/thermal_zone*/temp"):
        try:
            with open(path) as f:
                temps.append(int(f.read().strip()) / 1000.0)
        except (OSError, ValueError):
            continue
    return max(temps) if temps else None


def _probe(fn, default=None):
    """One health reading; the service's sandbox (ProcSubset=pid hides /proc/loadavg, /proc/stat) may refuse it."""
    try:
        return fn()
    except Exception:  # noqa: BLE001 - a missing reading must never cost a result
        return default


def process_stats() -> dict[str, Any]:
    """CPU seconds and share, current and peak resident memory of this process, load and CPU temperature."""
    try:
        import psutil

        proc = psutil.Process()
    except ImportError:
        proc = None
    rss = _probe(lambda: proc.memory_info().rss) if proc else None
    ru = resource.getrusage(resource.RUSAGE_SELF)
    load = _probe(lambda: round(os.getloadavg()[0], 2))
    return {
        "cpu_s": round(ru.ru_utime + ru.ru_stime, 2),
        "cpu_percent": _probe(lambda: proc.cpu_percent(interval=None)) if proc else None,
        "rss_mb": round(rss / 2**20, 1) if rss else None,
        "peak_rss_mb": round(ru.ru_maxrss / 1024.0, 1),  # ru_maxrss is in KiB on Linux
        "load_avg": load,
        "cpu_temp_c": cpu_temperature_c(),
    }
