"""Pipeline mode: the real runtime loop on a source, timed per stage from each result's `timing_ms`."""

from __future__ import annotations

import logging
import os
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np

from ..service.health import peak_rss_bytes
from .stats import summarize

logger = logging.getLogger(__name__)


def _recording(inner):
    """Wrap the configured publisher so every published result's timing is kept for the report."""
    from edge.publish.base import Publisher

    class RecordingPublisher(Publisher):
        name = f"recording({inner.name})"

        def __init__(self) -> None:
            self.timings: list[dict[str, float]] = []
            self.first_at: float | None = None
            self.last_dropped = 0

        def publish(self, result: dict[str, Any]) -> None:
            if self.first_at is None:
                self.first_at = time.monotonic()
            self.timings.append(dict(result.get("timing_ms") or {}))
            self.last_dropped = result.get("dropped_frames", self.last_dropped)
            inner.publish(result)

        def publish_stats(self, stats: dict[str, Any]) -> None:
            inner.publish_stats(stats)

        def close(self, timeout: float = 1.0) -> None:
            inner.close(timeout)

    return RecordingPublisher()


def stage_rows(timings: list[dict[str, float]], stages: tuple[str, ...]) -> tuple[list[dict], dict[str, list[float]]]:
    """Per stage: percentiles over the steps where it ran (time > 0) and its share of all stage time."""
    total = sum(sum(t.get(s, 0.0) for s in stages) for t in timings) or 1.0
    rows, samples = [], {}
    for s in stages:
        ran = [t[s] for t in timings if t.get(s, 0.0) > 0.0]  # 0.0: the stage had nothing to do this step
        share = 100.0 * sum(t.get(s, 0.0) for t in timings) / total
        rows.append({"id": s, "stage": s, **summarize(ran), "share_pct": share})
        if ran:
            samples[s] = ran
    per_step = [sum(t.get(s, 0.0) for s in stages) for t in timings]
    rows.append({"id": "total", "stage": "total", **summarize(per_step), "share_pct": 100.0 if timings else 0.0})
    samples["total"] = per_step
    return rows, samples


def bench_pipeline(source: str, audio: str | None = None, duration: float | None = None, config: Path | None = None,
                   max_speed: bool = False) -> tuple[list[dict], dict[str, Any], dict[str, list[float]]]:
    """Run `edge-emotion run`'s loop until the source ends or `duration` s pass; rows, summary, samples."""
    import psutil

    from edge import config as config_mod
    from edge import result as result_mod
    from edge.pipeline import EXIT_OK, Pipeline
    from edge.publish import publisher_class

    cfg = config_mod.load(config)
    over = {"video.source": source, "output.stats_interval_s": 3600.0}  # no stats messages inside the timing
    if audio is not None:
        over["audio.source"] = audio
    if max_speed:
        over["video.realtime"] = False
    cfg = config_mod.override(cfg, over)
    # Real JSON encoding and writes; stdout's go to /dev/null, so the table stays readable.
    inner = publisher_class(cfg.output.publisher).from_config(cfg, stream=open(os.devnull, "w"))
    pub = _recording(inner)

    proc = psutil.Process()
    t0 = time.monotonic()
    pipeline = Pipeline(cfg, pub)
    load_s = time.monotonic() - t0
    stop = threading.Event()
    timer = threading.Timer(duration, stop.set) if duration else None
    cpu0, wall0 = proc.cpu_times(), time.monotonic()
    if timer:
        timer.start()
    code = pipeline.run(stop)
    wall = time.monotonic() - wall0
    if timer:
        timer.cancel()
    cpu1 = proc.cpu_times()
    if code != EXIT_OK:
        raise RuntimeError(f"the pipeline stopped with exit code {code}; run `edge-emotion run` with the same "
                           "source to see why")
    rows, samples = stage_rows(pub.timings, result_mod.STAGES)
    dominant = max(rows[:-1], key=lambda r: r["share_pct"]) if pub.timings else None
    summary = {
        "results": len(pub.timings),
        "run_s": round(wall, 2),
        "fps": round(len(pub.timings) / wall, 2) if wall else 0.0,
        "dropped_frames": pipeline.video.dropped if pipeline.video else 0,
        "cpu_pct_one_core": round(100.0 * ((cpu1.user - cpu0.user) + (cpu1.system - cpu0.system)) / wall, 1) if wall else 0.0,
        "rss_mb": round(proc.memory_info().rss / 2**20, 1),
        "peak_rss_mb": round(peak_rss_bytes() / 2**20, 1),
        "load_s": round(load_s, 3),
        "first_result_s": round(pub.first_at - t0, 3) if pub.first_at else None,
        "dominant_stage": f"{dominant['stage']} ({dominant['share_pct']:.0f} % of stage time)" if dominant else None,
        "models": pipeline.loaded_models(),
    }
    return rows, summary, samples
