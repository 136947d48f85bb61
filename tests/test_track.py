"""Tracking and events: the real detector on the two-face clip built from face-photos, and the rules on known moves."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from edge import config
from edge.detect.base import Box
from edge.fuse.events import SCHEMA, EventTracker
from edge.labels import FACE_LABELS
from edge.fuse.track import Observation, Tracker

DATASETS = Path(__file__).resolve().parents[2] / "shared" / "datasets"
needs_photos = pytest.mark.skipif(not (DATASETS / "face-photos" / "labels.csv").exists(),
                                  reason="../shared/datasets/face-photos is missing")


def onehot(label: str, p: float = 0.9) -> np.ndarray:
    v = np.full(len(FACE_LABELS), (1.0 - p) / (len(FACE_LABELS) - 1), np.float32)
    v[FACE_LABELS.index(label)] = p
    return v


@pytest.fixture(scope="module")
def clip():
    from convert.clips.tracking import frames

    return list(frames(DATASETS))


@needs_photos
@pytest.mark.parametrize("detector", ["blazeface"])  # haar: same result, 30x slower (benchmarks/tracking.py)
def test_two_faces_keep_their_ids_through_crossings_and_a_short_exit(clip, detector):
    from convert.clips.tracking import evaluate
    from edge.detect import make_detector

    r = evaluate(clip, make_detector(detector, min_score=0.5), Tracker.from_config(config.TrackConfig()))
    print(detector, r["total"], r["ids"])
    assert r["total"]["switches"] == 0, r["changes"]
    assert r["total"]["matched"] > 0.85 * (r["total"]["matched"] + r["total"]["missed"])
    # B: hidden behind A (scene 1), behind A again (scene 2), out of the frame for ~1 s (scene 3): one id throughout
    assert len(r["ids"]["B"]) == 1
    assert all(r["scenes"][s]["reentries_same_id"] == 1 for s in ("cross-depth", "cross-same", "short-exit"))
    # A: away 3 s, longer than max_missed_s: a new id, by design
    assert len(r["ids"]["A"]) == 2 and r["scenes"]["long-exit"]["reentries_new_id"] == 1


def test_smoothing_is_per_track():
    t = Tracker(min_hits=1, smoothing=0.5)
    left, right = Box(50, 100, 100, 100), Box(400, 100, 100, 100)
    t.update(0.0, [Observation(left, probs=onehot("happy", 1.0)), Observation(right, probs=onehot("sad", 1.0))])
    step = t.update(0.1, [Observation(right, probs=onehot("angry", 1.0)), Observation(left, probs=onehot("happy", 1.0))])
    assert step.ids == [2, 1]  # matched by place, not by order
    a, b = {tr.id: tr for tr in step.tracks}[1], {tr.id: tr for tr in step.tracks}[2]
    assert a.probs[FACE_LABELS.index("happy")] == pytest.approx(1.0)
    assert b.probs[FACE_LABELS.index("sad")] == pytest.approx(0.5) and b.probs[FACE_LABELS.index("angry")] == pytest.approx(0.5)


def test_follow_policies():
    small, big, centre = Box(20, 20, 60, 60), Box(400, 250, 150, 150), Box(290, 210, 60, 60)

    def run(follow, *frames):
        t = Tracker(min_hits=1, follow=follow)
        for i, boxes in enumerate(frames):
            step = t.update(i * 0.1, [Observation(b) for b in boxes], (640, 480))
        return step

    # longest: the first face stays followed when a larger one arrives
    step = run("longest", [small], [small, big], [small, big])
    assert step.followed == 1
    # largest: a face 1.5x larger takes over; one barely larger does not
    assert run("largest", [small], [small, big]).followed == 2
    assert run("largest", [small], [small, Box(300, 300, 65, 65)]).followed == 1
    # centre: the most central face
    assert run("centre", [small, centre]).followed == 2
    # the followed face leaves: the next one is chosen once the track ends
    t = Tracker(min_hits=1, max_missed_s=0.5)
    t.update(0.0, [Observation(small), Observation(big)])
    assert t.update(0.3, [Observation(big)]).followed == 1  # unseen for 0.3 s: still the same person
    assert t.update(1.0, [Observation(big)]).followed == 2


def test_unconfirmed_faces_do_not_make_events():
    t = Tracker(min_hits=3)
    ev = EventTracker(FACE_LABELS)
    box = Box(100, 100, 80, 80)
    step = t.update(0.0, [Observation(box, probs=onehot("happy"))])
    assert ev.update(step, 0.0, 1000.0) == [] and step.ids == [1]
    step = t.update(5.0, [])  # a one-frame false detection ends silently
    assert ev.update(step, 5.0, 1005.0) == [] and step.tracks == []


def test_events_new_update_after_min_duration_and_end():
    t = Tracker(min_hits=2, max_missed_s=1.0, smoothing=0.0)
    ev = EventTracker(FACE_LABELS, min_duration_s=1.0)
    box = Box(100, 100, 80, 80)
    seq = ["happy"] * 3 + ["sad"] * 3 + ["happy"] + ["sad"] * 12  # a 0.3 s dip is not reported; 1.2 s of sad is
    events = []
    for i, label in enumerate(seq):
        now = i * 0.1
        events += ev.update(t.update(now, [Observation(box, probs=onehot(label))]), now, 1000.0 + now)
    for i in range(len(seq), len(seq) + 15):  # the face is gone
        now = i * 0.1
        events += ev.update(t.update(now, []), now, 1000.0 + now)
    assert [e["type"] for e in events] == ["new", "update", "end"]
    new, update, end = events
    assert all(e["schema"] == SCHEMA and e["track_id"] == 1 for e in events)
    assert new["after"]["emotion"] == "happy" and new["ts"] == pytest.approx(1000.1)
    assert update["before"]["emotion"] == "happy" and update["after"]["emotion"] == "sad"
    # reported once sad held 1 s: first seen at 0.7 s (after the dip), reported at 1.7 s; `since` is when it began
    assert update["ts"] == pytest.approx(1001.7) and update["after"]["since"] == pytest.approx(1000.7)
    assert end["after"]["emotion"] == "sad" and end["after"]["duration_s"] == pytest.approx(1.7)
    assert end["after"]["emotions_s"]["happy"] == pytest.approx(1.6) and ev.counts == {"new": 1, "update": 1, "end": 1}
