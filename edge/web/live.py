"""What the live page shows, handed over by the pipeline: the latest frame and result, a timeline, counters.

The pipeline calls `update` once per step; it only stores references and bumps counters under a lock
held for microseconds, so the page can never slow inference. Readers (HTTP threads, the JPEG encoder)
take what is there when they need it.
"""

from __future__ import annotations

import collections
import threading
import time
from typing import Any, Callable

import numpy as np

from ..service.health import cpu_temperature_c
from .metrics import Exposition, Histogram

TIMELINE_STEP_S = 1.0  # one timeline point per second: 300 points for the page's 5 minutes
RECENT_EVENTS = 20  # events the page lists


class LiveState:
    """Latest frame + result, the fused emotion's timeline, and the counters behind /metrics."""

    def __init__(self, timeline_s: float = 300.0) -> None:
        self.cond = threading.Condition()  # notified on every new frame (the JPEG encoder waits on it)
        self.image: np.ndarray | None = None
        self.seq = 0  # number of frames handed over; the encoder encodes only newer ones
        self.result: dict[str, Any] | None = None
        self.result_at: float | None = None  # time.monotonic() of the latest result
        self.frame_size: tuple[int, int] | None = None  # (width, height)
        self.started = time.monotonic()
        self.timeline: collections.deque = collections.deque(maxlen=max(1, int(timeline_s / TIMELINE_STEP_S)))
        self.counts = {"frames": 0, "results": 0, "faces": 0}
        self.event_counts = {"new": 0, "update": 0, "end": 0}
        self.recent_events: collections.deque = collections.deque(maxlen=RECENT_EVENTS)
        self.dropped_frames = 0
        self.tracks_active = 0
        self.stage_seconds = Histogram()
        # scrape-time readers: publisher counters, events, the stream's own figures (set by their owners)
        self.collectors: list[Callable[[Exposition], None]] = []

    def update(self, image: np.ndarray | None, result: dict[str, Any], events: list | tuple = ()) -> None:
        """One pipeline step; `image` is the frame the result is about (None for audio-only steps)."""
        now = time.monotonic()
        for stage, ms in (result.get("timing_ms") or {}).items():
            if ms > 0.0:  # 0.0: the stage had nothing to do in this step
                self.stage_seconds.observe(stage, ms / 1e3)
        with self.cond:
            self.result, self.result_at = result, now
            self.counts["results"] += 1
            self.counts["faces"] += len(result.get("faces") or ())
            for e in events:
                self.event_counts[e["type"]] = self.event_counts.get(e["type"], 0) + 1
                self.recent_events.append(e)
            self.dropped_frames = int(result.get("dropped_frames") or 0)
            self.tracks_active = len({f.get("track_id") for f in result.get("faces") or () if "track_id" in f})
            if image is not None:
                self.image, self.seq = image, self.seq + 1
                self.frame_size = (int(image.shape[1]), int(image.shape[0]))
                self.counts["frames"] += 1
            fused = result.get("fused") or {}
            ts = float(result.get("ts") or time.time())
            if not self.timeline or ts - self.timeline[-1][0] >= TIMELINE_STEP_S:
                self.timeline.append((round(ts, 3), fused.get("emotion"), round(float(fused.get("confidence") or 0), 3)))
            self.cond.notify_all()

    def history(self) -> tuple[list, list]:
        """(timeline points [ts, emotion, confidence], the latest events, newest last)."""
        with self.cond:
            return list(self.timeline), list(self.recent_events)

    def latest(self) -> tuple[dict[str, Any] | None, float | None]:
        """(latest result, its age in seconds), (None, None) before the first."""
        with self.cond:
            if self.result is None:
                return None, None
            return self.result, time.monotonic() - self.result_at

    def metrics(self) -> str:
        """The /metrics body."""
        e = Exposition()
        with self.cond:
            counts, dropped, tracks = dict(self.counts), self.dropped_frames, self.tracks_active
            events = dict(self.event_counts)
        e.family("frames_total", "counter", "Video frames processed.", [({}, counts["frames"])])
        e.family("results_total", "counter", "Results produced (frames, and audio-only steps with a new utterance).",
                 [({}, counts["results"])])
        e.family("faces_total", "counter", "Faces classified, summed over frames.", [({}, counts["faces"])])
        e.family("dropped_frames_total", "counter", "Frames the camera delivered while the loop was busy, skipped.",
                 [({}, dropped)])
        e.family("tracks_active", "gauge", "Tracked faces in the latest frame.", [({}, tracks)])
        e.family("events_total", "counter", "Tracked-face events by type (new, update, end).",
                 [({"type": k}, v) for k, v in events.items()])
        e.histogram("stage_seconds", "Time per pipeline stage and step.", self.stage_seconds, "stage")
        for collect in self.collectors:
            collect(e)
        temp = cpu_temperature_c()
        if temp is not None:
            e.family("cpu_temperature_celsius", "gauge", "Highest thermal-zone temperature.", [({}, temp)])
        e.family("uptime_seconds", "gauge", "Seconds since the live state was created.",
                 [({}, round(time.monotonic() - self.started, 3))])
        return e.text()


def publisher_collector(publisher) -> Callable[[Exposition], None]:
    """MQTT queue and delivery counters (docs/mqtt.md, "Counters") as metrics; other publishers give theirs too."""
    counters = ("results", "sent", "delivered", "dropped", "rejected", "refused", "errors", "connects",
                "connect_failures", "failed")

    def collect(e: Exposition) -> None:
        try:
            s = publisher.stats()
        except Exception:  # noqa: BLE001 - a publisher's figures must never break /metrics
            return
        name = getattr(publisher, "name", "publisher")
        e.family("publisher_messages_total", "counter", "Publisher counters by kind (docs/mqtt.md, Counters).",
                 [({"publisher": name, "kind": k}, s[k]) for k in counters if isinstance(s.get(k), (int, float))])
        if "queued" in s:
            e.family("publisher_queued", "gauge", "Results waiting in the outage queue.",
                     [({"publisher": name}, s["queued"])])
        if "connected" in s:
            e.family("publisher_connected", "gauge", "1 while connected to the broker.",
                     [({"publisher": name}, bool(s["connected"]))])

    return collect
