"""One model benchmark case, run in its own process so init time and memory start clean.

`python -m edge.bench.worker '{"path": ..., "backend": ..., "threads": 1, "min_time": 2}'`
prints one JSON object: timings, their percentiles, a subset of the samples for the plot, and memory.
"""

from __future__ import annotations

import json
import os
import sys
import time
from typing import Any

import numpy as np

from edge.bench.stats import summarize
from edge.service.health import peak_rss_bytes

PLOT_SAMPLES = 5000


def _rss_bytes() -> int:
    import psutil

    return psutil.Process(os.getpid()).memory_info().rss


def sample_input(shape: tuple[int, ...], dtype: np.dtype, seed: int = 0) -> np.ndarray:
    """A fixed pseudo-random input of the model's own shape and dtype (latency does not depend on content)."""
    rng = np.random.default_rng(seed)
    if np.issubdtype(dtype, np.integer):
        info = np.iinfo(dtype)
        return rng.integers(info.min, info.max + 1, size=shape, dtype=dtype)
    return rng.uniform(-1.0, 1.0, size=shape).astype(dtype)


def run_case(path: str, backend: str, threads: int, min_time: float, warmup_time: float = 0.5,
             providers: list[str] | None = None, min_runs: int = 20, max_runs: int = 1_000_000) -> dict[str, Any]:
    """Init, first inference, warm-up for `warmup_time` s, then timed runs for at least `min_time` s."""
    from edge.backends import backend_class

    cls = backend_class(backend)  # library import happens here, before the memory baseline
    rss0 = _rss_bytes()
    t0 = time.perf_counter()
    model = cls(path, threads=threads, providers=providers)
    init_ms = (time.perf_counter() - t0) * 1e3
    info = model.inputs[0]
    x = sample_input(info.shape, info.dtype)

    t0 = time.perf_counter()
    model.run(x)
    first_ms = (time.perf_counter() - t0) * 1e3

    warm, end = 0, time.perf_counter() + warmup_time
    while warm < 5 or time.perf_counter() < end:  # at least 5 runs: caches, allocator, XNNPACK packing
        model.run(x)
        warm += 1

    # Preallocated, so a microsecond model still gets its full --min-time without the list growing.
    samples, n, start = np.empty(max_runs, np.float64), 0, time.perf_counter()
    while n < max_runs and (n < min_runs or time.perf_counter() - start < min_time):
        t = time.perf_counter_ns()
        model.run(x)
        samples[n] = (time.perf_counter_ns() - t) / 1e6
        n += 1
    wall = time.perf_counter() - start
    samples = samples[:n]
    return {
        "input": f"{'x'.join(map(str, info.shape))} {np.dtype(info.dtype).name}",
        "init_ms": init_ms, "first_ms": first_ms, "warmup_runs": warm,
        "throughput_ips": n / wall,
        "rss_added_mb": max(0, peak_rss_bytes() - rss0) / 2**20,
        "rss_mb": _rss_bytes() / 2**20,
        **summarize(samples),
        # every sample would be megabytes of JSON for a fast model: the plot gets an evenly spaced subset
        "plot_ms": samples[np.linspace(0, n - 1, min(n, PLOT_SAMPLES)).astype(int)].tolist(),
    }


def main() -> None:
    case = json.loads(sys.argv[1])
    try:
        result = run_case(**case)
    except Exception as e:  # reported as a failed row by the parent, never a crash of the whole run
        result = {"error": f"{type(e).__name__}: {e}"}
    sys.stdout.write(json.dumps(result) + "\n")


if __name__ == "__main__":
    main()
