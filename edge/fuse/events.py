"""Emotion events per tracked face: `new`, `update` (with `before` and `after`) and `end`.

Schema `edge-emotion/event/1` (docs/mqtt.md, "events"). A face's emotion is the arg-max of its
smoothed probabilities; a change is reported only once the new emotion has held for
`events.min_duration_s`, so a dashboard does not flicker with every uncertain frame.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np

from .track import Track, TrackStep

SCHEMA = "edge-emotion/event/1"
TYPES = ("new", "update", "end")


@dataclass
class _State:
    """What was last reported for one track, and a change that is waiting to hold long enough."""

    emotion: str | None
    confidence: float
    since_ts: float  # wall clock, when the reported emotion started
    start_ts: float
    pending: str | None = None
    pending_s: float = 0.0  # stream time the pending emotion was first seen
    pending_ts: float = 0.0
    durations: dict[str, float] = field(default_factory=dict)  # seconds per reported emotion
    last_s: float = 0.0  # stream time of the latest look
    last_ts: float = 0.0  # wall clock of the latest look


class EventTracker:
    """Turns each tracker step into events; `update` returns them as plain dicts, ready for JSON."""

    def __init__(self, labels: Sequence[str], min_duration_s: float = 2.0) -> None:
        self.labels = tuple(labels)
        self.min_duration_s = min_duration_s
        self._states: dict[int, _State] = {}
        self.counts = {t: 0 for t in TYPES}

    @classmethod
    def from_config(cls, cfg, labels: Sequence[str]) -> "EventTracker":
        """From the `[events]` config section and the face model's labels."""
        return cls(labels, cfg.min_duration_s)

    def _emotion(self, t: Track) -> tuple[str | None, float]:
        if t.probs is None:
            return None, 0.0
        i = int(np.argmax(t.probs))
        return self.labels[i], float(t.probs[i])

    def update(self, step: TrackStep, now_s: float, ts: float) -> list[dict[str, Any]]:
        """Events of one step; `now_s` is stream time (for durations), `ts` wall-clock time (in the payloads)."""
        out = []
        for t in step.new:
            emotion, conf = self._emotion(t)
            self._states[t.id] = _State(emotion, conf, ts, ts, last_s=now_s, last_ts=ts)
            out.append(self._event("new", t, ts, after=self._public(self._states[t.id])))
        for t in step.tracks:
            st = self._states.get(t.id)
            if st is None or not t.seen:
                continue
            self._count_time(st, now_s)
            st.last_ts = ts
            emotion, conf = self._emotion(t)
            if emotion == st.emotion:
                st.confidence, st.pending = conf, None
                continue
            if emotion != st.pending:
                st.pending, st.pending_s, st.pending_ts = emotion, now_s, ts
            elif now_s - st.pending_s >= self.min_duration_s:
                before = self._public(st)
                st.emotion, st.confidence, st.since_ts, st.pending = emotion, conf, st.pending_ts, None
                out.append(self._event("update", t, ts, before=before, after=self._public(st)))
        for t in step.ended:
            st = self._states.pop(t.id, None)
            if st is None:
                continue
            after = self._public(st)
            after["last_seen"] = round(st.last_ts, 3)
            after["duration_s"] = round(st.last_ts - st.start_ts, 3)
            after["emotions_s"] = {k: round(v, 2) for k, v in st.durations.items()}
            out.append(self._event("end", t, ts, after=after))
        for e in out:
            self.counts[e["type"]] += 1
        return out

    @staticmethod
    def _count_time(st: _State, now_s: float) -> None:
        if st.emotion is not None:
            st.durations[st.emotion] = st.durations.get(st.emotion, 0.0) + max(0.0, now_s - st.last_s)
        st.last_s = now_s

    @staticmethod
    def _public(st: _State) -> dict[str, Any]:
        return {"emotion": st.emotion, "confidence": round(st.confidence, 4), "since": round(st.since_ts, 3),
                "start": round(st.start_ts, 3)}

    @staticmethod
    def _event(kind: str, t: Track, ts: float, **parts: Any) -> dict[str, Any]:
        ev: dict[str, Any] = {"schema": SCHEMA, "type": kind, "ts": round(ts, 3), "track_id": t.id}
        ev.update(parts)
        ev["box"] = t.box.to_list()
        return ev
