"""Build a clip with two moving faces (from face-photos), with ground truth, to measure tracking.

Two people (two labelled photos) move on a 640x480 canvas through four scenes, each a known hard
case for a tracker without an appearance model:

1. `cross-depth` (0-4 s): they cross, the nearer (larger) face A in front of B, 60 px apart in height.
2. `cross-same` (4-9 s): they cross again at the same size and height: for an instant only A is seen.
3. `short-exit` (9-13 s): B walks out of the right edge and is back about a second later.
4. `long-exit` (13-20 s): A walks out of the left edge and is back 3 s later.

`frames()` yields every frame with the photo rectangle of each person (the ground truth), so tests
run it in memory; `edge-convert tracking-clip --out DIR` writes `tracking.mp4` + `tracking.json`.
"""

from __future__ import annotations

import argparse
import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import cv2
import numpy as np

from .demo import photos_by_label

logger = logging.getLogger(__name__)

FPS = 10  # as the demo clip: a camera read at the loop's usual rate on a Pi
SIZE = (640, 480)
DURATION_S = 20.0
# Keyframes per person: (time s, photo centre x, centre y, photo height px); linear in between.
# A is drawn over B (A is in front). Centres beyond the canvas put a person out of view.
PATHS = {
    "A": [(0, 120, 270, 200), (4, 520, 270, 200), (5, 520, 240, 150), (9, 120, 240, 150), (13, 120, 240, 150),
          (14, -140, 240, 150), (17, -140, 240, 150), (18, 160, 240, 150), (20, 200, 240, 150)],
    "B": [(0, 520, 200, 140), (4, 120, 200, 140), (5, 120, 240, 150), (9, 520, 240, 150), (9.6, 520, 240, 150),
          (10.4, 780, 240, 150), (10.8, 780, 240, 150), (11.6, 520, 240, 150), (20, 500, 240, 150)],
}
SCENES = [("cross-depth", 0.0, 4.0), ("cross-same", 4.0, 9.0), ("short-exit", 9.0, 13.0), ("long-exit", 13.0, 20.0)]
# The two photos: the first of each label in face-photos (sorted), so the clip is the same on every machine.
PHOTO_LABELS = {"A": "happiness", "B": "sadness"}


@dataclass(frozen=True)
class ClipFrame:
    index: int
    t: float  # seconds from the start
    image: np.ndarray  # BGR uint8
    truth: dict  # person -> [x, y, w, h] of the visible part of their photo, or None when out of view


def _photos(photos_dir: Path) -> dict[str, tuple[str, np.ndarray]]:
    by_label = photos_by_label(photos_dir)
    out = {}
    for person, label in PHOTO_LABELS.items():
        name = by_label[label][0]
        img = cv2.imread(str(photos_dir / "images" / name))
        if img is None:
            raise RuntimeError(f"cannot read {photos_dir / 'images' / name}")
        out[person] = (name, img)
    return out


def _at(path: list, t: float) -> tuple[float, float, float]:
    """(cx, cy, height) of a person at time t, interpolated between keyframes."""
    for (t0, *a), (t1, *b) in zip(path, path[1:]):
        if t0 <= t <= t1:
            f = 0.0 if t1 == t0 else (t - t0) / (t1 - t0)
            return tuple(x + f * (y - x) for x, y in zip(a, b))  # type: ignore[return-value]
    return tuple(path[-1][1:])  # type: ignore[return-value]


def frames(datasets: Path) -> Iterator[ClipFrame]:
    """Every frame of the clip with its ground truth, built in memory."""
    photos = _photos(datasets / "face-photos")
    w, h = SIZE
    for i in range(int(DURATION_S * FPS)):
        t = i / FPS
        canvas = np.full((h, w, 3), 40, np.uint8)
        truth = {}
        for person in ("B", "A"):  # B first: A is drawn over it
            cx, cy, ph = _at(PATHS[person], t)
            img = photos[person][1]
            scale = ph / img.shape[0]
            pw = int(round(img.shape[1] * scale))
            ph = int(round(ph))
            x0, y0 = int(round(cx - pw / 2)), int(round(cy - ph / 2))
            sx0, sy0, sx1, sy1 = max(x0, 0), max(y0, 0), min(x0 + pw, w), min(y0 + ph, h)
            if sx1 - sx0 < pw // 2 or sy1 <= sy0:  # less than half of the face in view: out of view
                truth[person] = None
                continue
            photo = cv2.resize(img, (pw, ph), interpolation=cv2.INTER_AREA)
            canvas[sy0:sy1, sx0:sx1] = photo[sy0 - y0:sy1 - y0, sx0 - x0:sx1 - x0]
            truth[person] = [sx0, sy0, sx1 - sx0, sy1 - sy0]
        yield ClipFrame(i, t, canvas, truth)


def owner(box: list[float], truth: dict) -> str | None:
    """The person a detected box belongs to: its centre on their photo, the front person (A) first."""
    cx, cy = box[0] + box[2] / 2.0, box[1] + box[3] / 2.0
    for person in ("A", "B"):
        r = truth.get(person)
        if r and r[0] <= cx <= r[0] + r[2] and r[1] <= cy <= r[1] + r[3]:
            return person
    return None


def scene_of(t: float) -> str:
    return next(name for name, t0, t1 in SCENES if t0 <= t < t1 or (name == SCENES[-1][0] and t <= t1))


def build(datasets: Path, out_dir: Path) -> dict:
    out_dir.mkdir(parents=True, exist_ok=True)
    video = out_dir / "tracking.mp4"
    writer = cv2.VideoWriter(str(video), cv2.VideoWriter_fourcc(*"mp4v"), FPS, SIZE)
    if not writer.isOpened():
        raise RuntimeError("OpenCV cannot write mp4v video here; install opencv-python-headless from PyPI")
    truth = []
    for f in frames(datasets):
        writer.write(f.image)
        truth.append({"frame": f.index, "t": round(f.t, 3), "scene": scene_of(f.t), "truth": f.truth})
    writer.release()
    photos = {p: name for p, (name, _) in _photos(datasets / "face-photos").items()}
    manifest = {"fps": FPS, "size": list(SIZE), "photos": photos, "paths": PATHS,
                "scenes": [{"name": n, "start_s": a, "end_s": b} for n, a, b in SCENES], "frames": truth,
                "provenance": "photos from face-photos (Labeled Faces in the Wild derived, Apache-2.0)"}
    (out_dir / "tracking.json").write_text(json.dumps(manifest) + "\n")
    logger.info("wrote %s (%.0f kB) and its ground truth", video, video.stat().st_size / 1e3)
    return manifest


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--datasets", type=Path, default=Path("../shared/datasets"), help="folder with face-photos/")
    p.add_argument("--out", type=Path, required=True, help="output folder for tracking.mp4 and tracking.json")


def run(args: argparse.Namespace) -> int:
    build(args.datasets, args.out)
    return 0


GAP_S = 0.5  # unseen for this long (5 frames) before being found again: a re-entry, not a detector blink


def evaluate(clip: list[ClipFrame], detector, tracker, max_faces: int = 4) -> dict:
    """Run a detector and a tracker over the clip; id switches per scene (CLEAR-MOT style) and what each person got.

    A switch is a change of the track id given to one person between two frames where they were detected.
    A change after the person was out of view for longer than the tracker's `max_missed_s` is counted apart,
    as a re-entry (by design a new id); a person found again with the same id after at least GAP_S unseen
    (hidden behind the other, or out of the frame) is a re-entry with the same id.
    """
    from edge.detect.base import keep
    from edge.fuse.track import Observation

    last: dict[str, tuple[int, float]] = {}  # person -> (track id, time last detected)
    per_scene = {name: {"switches": 0, "reentries_new_id": 0, "reentries_same_id": 0, "missed": 0, "matched": 0}
                 for name, _, _ in SCENES}
    ids: dict[str, list[int]] = {"A": [], "B": []}
    events = []
    for f in clip:
        dets = keep(detector.detect(f.image), max_faces)
        step = tracker.update(f.t, [Observation(d.box, d.keypoints) for d in dets], SIZE)
        scene = per_scene[scene_of(f.t)]
        seen = set()
        for d, tid in zip(dets, step.ids):
            person = owner(d.box.to_list(), f.truth)
            if person is None or person in seen:
                continue
            seen.add(person)
            scene["matched"] += 1
            if not ids[person] or ids[person][-1] != tid:
                ids[person].append(tid)
            if person in last and last[person][0] != tid:
                gap = f.t - last[person][1]
                kind = "reentries_new_id" if gap > tracker.max_missed_s else "switches"
                scene[kind] += 1
                events.append({"t": round(f.t, 2), "person": person, "from": last[person][0], "to": tid,
                               "gap_s": round(gap, 2), "kind": kind})
            elif person in last and f.t - last[person][1] > GAP_S:
                scene["reentries_same_id"] += 1
                events.append({"t": round(f.t, 2), "person": person, "from": tid, "to": tid,
                               "gap_s": round(f.t - last[person][1], 2), "kind": "reentries_same_id"})
            last[person] = (tid, f.t)
        scene["missed"] += sum(1 for p, r in f.truth.items() if r is not None and p not in seen)
    total = {k: sum(s[k] for s in per_scene.values()) for k in next(iter(per_scene.values()))}
    return {"scenes": per_scene, "total": total, "ids": ids, "changes": events}
