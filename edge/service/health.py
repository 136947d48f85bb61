"""Health figures for the stats topic and benchmarks: per-stage latency percentiles, CPU, memory, temperature."""

from __future__ import annotations

import collections
import glob
import os
import resource
import sys
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


def temperatures_c() -> dict[str, float]:
    """Thermal zones by type (Jetson: CPU-therm, GPU-therm; Pi: cpu-thermal); empty where none is readable."""
    temps = {}
    for zone in sorted(glob.glob("/sys/class/thermal/thermal_zone*")):
        try:
            with open(zone + "/type") as f:
                kind = f.read().strip()
            with open(zone + "/temp") as f:
                temps[kind] = int(f.read().strip()) / 1000.0
        except (OSError, ValueError):
            continue
    return temps


def cpu_temperature_c() -> float | None:
    """Highest thermal-zone temperature; None where unreadable."""
    temps = temperatures_c()
    return max(temps.values()) if temps else None


def peak_rss_bytes() -> int:
    """Peak resident memory of this process (ru_maxrss is KiB on Linux, bytes on macOS)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak if sys.platform == "darwin" else peak * 1024


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
        "peak_rss_mb": round(peak_rss_bytes() / 2**20, 1),
        "load_avg": load,
        "cpu_temp_c": cpu_temperature_c(),
    }
