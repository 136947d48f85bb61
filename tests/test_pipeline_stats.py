"""The loop's periodic health report: what the MQTT `stats` topic carries."""

from __future__ import annotations

import threading

from edge import config
from edge.pipeline import Pipeline
from edge.publish.base import Publisher


class Recorder(Publisher):
    """Keeps what the loop publishes (a real publisher for this test: the loop's output, in memory)."""

    name = "recorder"

    def __init__(self) -> None:
        self.results, self.stats_seen = [], []

    def publish(self, result):
        self.results.append(result)

    def publish_stats(self, stats):
        self.stats_seen.append(stats)

    def stats(self):
        return {"published": len(self.results)}


def test_stats_report_counts_latency_and_resources():
    cfg = config.from_dict({"video": {"source": "sample"}, "audio": {"source": "sample"},
                            "output": {"stats_interval_s": 1.0}})
    rec = Recorder()
    pipeline = Pipeline(cfg, rec)
    stop = threading.Event()
    timer = threading.Timer(2.6, stop.set)
    timer.start()
    try:
        assert pipeline.run(stop) == 0
    finally:
        timer.cancel()
    assert len(rec.stats_seen) >= 2
    s = rec.stats_seen[-1]
    assert s["processed"] > 0 and s["dropped_frames"] >= 0 and s["uptime_s"] > 1.0
    assert s["latency_ms"]["detect"]["p50"] > 0 and s["latency_ms"]["detect"]["p95"] >= s["latency_ms"]["detect"]["p50"]
    assert s["rss_mb"] > 10 and s["peak_rss_mb"] >= s["rss_mb"] * 0.9
    assert s["publisher"]["published"] > 0
