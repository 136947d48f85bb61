"""Prometheus text format (version 0.0.4) for /metrics: counters, gauges and fixed-bucket histograms."""

from __future__ import annotations

import bisect
import math
import threading
from typing import Iterable

# Stage latencies in seconds: a detector takes 1-50 ms on a Pi or a Jetson, a voice window up to ~0.1 s.
LATENCY_BUCKETS = (0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0)


class Histogram:
    """Cumulative bucket counts, sum and count for each label value (e.g. one per pipeline stage)."""

    def __init__(self, buckets: Iterable[float] = LATENCY_BUCKETS) -> None:
        self.buckets = tuple(sorted(buckets))
        self._lock = threading.Lock()
        self._series: dict[str, list] = {}  # label value -> [bucket counts..., sum, count]

    def observe(self, label: str, value: float) -> None:
        i = bisect.bisect_left(self.buckets, value)  # le= is inclusive: value == bound falls in that bucket
        with self._lock:
            s = self._series.get(label)
            if s is None:
                s = self._series[label] = [0] * (len(self.buckets) + 1) + [0.0, 0]
            s[i] += 1
            s[-2] += value
            s[-1] += 1

    def snapshot(self) -> dict[str, list]:
        with self._lock:
            return {k: list(v) for k, v in self._series.items()}


def _value(v: float) -> str:
    if isinstance(v, bool):
        return "1" if v else "0"
    if isinstance(v, float) and math.isinf(v):
        return "+Inf" if v > 0 else "-Inf"
    return repr(float(v)) if isinstance(v, float) else str(int(v))


def _labels(labels: dict[str, str]) -> str:
    if not labels:
        return ""
    esc = (str(v).replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"') for v in labels.values())
    return "{" + ",".join(f'{k}="{v}"' for k, v in zip(labels, esc)) + "}"


class Exposition:
    """Builds one /metrics response; each family is written once with its HELP and TYPE lines."""

    def __init__(self, prefix: str = "edge_emotion_") -> None:
        self.prefix = prefix
        self.lines: list[str] = []

    def family(self, name: str, kind: str, help_: str, samples: Iterable[tuple[dict[str, str], float]]) -> None:
        samples = list(samples)
        if not samples:
            return
        full = self.prefix + name
        self.lines += [f"# HELP {full} {help_}", f"# TYPE {full} {kind}"]
        self.lines += [f"{full}{_labels(lbl)} {_value(v)}" for lbl, v in samples]

    def histogram(self, name: str, help_: str, hist: Histogram, label: str) -> None:
        snap = hist.snapshot()
        if not snap:
            return
        full = self.prefix + name
        self.lines += [f"# HELP {full} {help_}", f"# TYPE {full} histogram"]
        for key in sorted(snap):
            counts, total, n = snap[key][:-2], snap[key][-2], snap[key][-1]
            running = 0
            for bound, c in zip(list(hist.buckets) + [math.inf], counts):
                running += c
                self.lines.append(f"{full}_bucket{_labels({label: key, 'le': _value(float(bound))})} {running}")
            self.lines.append(f"{full}_sum{_labels({label: key})} {_value(float(total))}")
            self.lines.append(f"{full}_count{_labels({label: key})} {n}")

    def text(self) -> str:
        return "\n".join(self.lines) + "\n"
