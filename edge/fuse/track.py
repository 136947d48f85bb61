"""Face tracking: a `track_id` per person that stays while the person stays, and per-track smoothing.

Matching is geometric (no appearance model): each live track predicts where its face is now
(last box moved by its velocity, which fades while the face is unseen), and every (track, face)
pair is scored by box overlap (IoU), keypoint distance (eyes, nose, mouth and ears from BlazeFace;
box centres for detectors without keypoints) and size agreement. Pairs are taken best score first
(greedy; at most a handful of faces per frame). What follows from that, by design:

- Two faces crossing keep their ids when their motion carries through the crossing (the prediction
  puts each where it is heading) or when they differ in size (a nearer face is larger). A face
  hidden behind another is kept, unseen, for `max_missed_s`, and picks up its id again when it
  reappears near where it was heading.
- A face that leaves and comes back within `max_missed_s` near where it left keeps its id; after
  longer, or somewhere else, it is a new track with a new id (ids are never reused).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

import numpy as np

from ..detect.base import Box

FOLLOW = ("longest", "largest", "centre")
# Velocity fades with this time constant (s) while a face is unseen: a prediction drifts at most
# velocity x 0.3 s, so a face that stopped behind another is still looked for near where it hid.
VELOCITY_FADE_S = 0.3
# Weight of the newest displacement in the velocity estimate: faces jitter by a few pixels per frame.
VELOCITY_ALPHA = 0.5
# `largest` hands over to another face only when it is this much larger (area), `centre` only when it is
# this much closer to the centre (share of the half diagonal): no flip-flopping between two similar faces.
LARGEST_MARGIN = 1.5
CENTRE_MARGIN = 0.2


@dataclass(frozen=True)
class Observation:
    """One detected, classified face of a frame: its box, keypoints (may be empty) and probabilities."""

    box: Box
    keypoints: tuple[tuple[float, float], ...] = ()
    probs: np.ndarray | None = None


@dataclass
class Track:
    """One person over time; `probs` is the exponentially smoothed face probability vector."""

    id: int
    box: Box
    keypoints: tuple[tuple[float, float], ...]
    first_s: float
    last_s: float
    hits: int = 1
    velocity: tuple[float, float] = (0.0, 0.0)  # box centre, pixels per second
    probs: np.ndarray | None = None
    seen: bool = True  # matched in the latest step

    def age_s(self, now_s: float) -> float:
        return now_s - self.first_s

    def predicted(self, now_s: float) -> Box:
        """Where the face should be now: moved by its velocity, fading while it is unseen."""
        dt = max(0.0, now_s - self.last_s)
        travel = VELOCITY_FADE_S * (1.0 - math.exp(-dt / VELOCITY_FADE_S))
        return Box(self.box.x + self.velocity[0] * travel, self.box.y + self.velocity[1] * travel,
                   self.box.w, self.box.h)


@dataclass
class TrackStep:
    """What one `Tracker.update` found."""

    ids: list[int]  # track id of each observation, in the order given
    tracks: list[Track]  # live tracks (seen now or recently), oldest first
    new: list[Track]  # tracks confirmed in this step (seen `min_hits` times)
    ended: list[Track]  # confirmed tracks unseen for longer than `max_missed_s`, now closed
    followed: int | None  # the track `fused` follows, None when no confirmed face is in view


def _centre(b: Box) -> tuple[float, float]:
    return b.x + b.w / 2.0, b.y + b.h / 2.0


def _size(b: Box) -> float:
    return math.sqrt(max(b.area, 1.0))


class Tracker:
    """Assigns track ids to each frame's faces and keeps each track's smoothed probabilities."""

    def __init__(self, iou_min: float = 0.1, max_distance: float = 2.0, max_missed_s: float = 2.0,
                 min_hits: int = 3, smoothing: float = 0.6, follow: str = "longest") -> None:
        if follow not in FOLLOW:
            raise ValueError(f"follow = {follow!r}: must be one of {', '.join(FOLLOW)}")
        if not 0.0 <= smoothing < 1.0:
            raise ValueError(f"smoothing must be in [0, 1), got {smoothing}")
        self.iou_min, self.max_distance, self.max_missed_s = iou_min, max_distance, max_missed_s
        self.min_hits, self.smoothing, self.follow = min_hits, smoothing, follow
        self.tracks: list[Track] = []
        self.followed: int | None = None
        self.next_id = 1

    @classmethod
    def from_config(cls, cfg) -> "Tracker":
        """From the `[track]` config section."""
        return cls(iou_min=cfg.iou_min, max_distance=cfg.max_distance, max_missed_s=cfg.max_missed_s,
                   min_hits=cfg.min_hits, smoothing=cfg.smoothing, follow=cfg.follow)

    def confirmed(self, t: Track) -> bool:
        return t.hits >= self.min_hits

    # -- matching ---------------------------------------------------------------------------------
    def _score(self, t: Track, pred: Box, ob: Observation) -> float | None:
        """Match quality of a track's predicted box and an observation, higher is better; None: cannot match."""
        size = _size(pred)
        ratio = _size(ob.box) / size
        if not 0.5 <= ratio <= 2.0:  # a face does not halve or double in size between two looks
            return None
        iou = pred.iou(ob.box)
        if t.keypoints and ob.keypoints and len(t.keypoints) == len(ob.keypoints):
            dx, dy = pred.x - t.box.x, pred.y - t.box.y  # keypoints move with the predicted box
            dist = float(np.mean([math.hypot(kx + dx - ox, ky + dy - oy)
                                  for (kx, ky), (ox, oy) in zip(t.keypoints, ob.keypoints)])) / size
        else:
            (px, py), (ox, oy) = _centre(pred), _centre(ob.box)
            dist = math.hypot(px - ox, py - oy) / size
        if iou < self.iou_min and dist > self.max_distance:
            return None
        return iou + max(0.0, 1.0 - dist / self.max_distance) - abs(math.log(ratio))

    def _match(self, now_s: float, obs: Sequence[Observation]) -> dict[int, int]:
        """observation index -> index into self.tracks, greedily by best score."""
        preds = [t.predicted(now_s) for t in self.tracks]
        pairs = []
        for ti, t in enumerate(self.tracks):
            for oi, ob in enumerate(obs):
                s = self._score(t, preds[ti], ob)
                if s is not None:
                    pairs.append((s, ti, oi))
        pairs.sort(key=lambda p: (-p[0], p[1], p[2]))
        used_t: set[int] = set()
        out: dict[int, int] = {}
        for _, ti, oi in pairs:
            if ti not in used_t and oi not in out:
                used_t.add(ti)
                out[oi] = ti
        return out

    # -- one step ---------------------------------------------------------------------------------
    def update(self, now_s: float, obs: Sequence[Observation], frame_size: tuple[int, int] | None = None) -> TrackStep:
        """Match this frame's faces to tracks at stream time `now_s` (seconds); `frame_size` = (w, h) for `centre`."""
        matches = self._match(now_s, obs)
        ids: list[int] = []
        new: list[Track] = []
        for t in self.tracks:
            t.seen = False
        for oi, ob in enumerate(obs):
            if oi in matches:
                t = self.tracks[matches[oi]]
                was_confirmed = self.confirmed(t)
                self._observe(t, now_s, ob)
                if not was_confirmed and self.confirmed(t):
                    new.append(t)
            else:
                t = Track(self.next_id, ob.box, tuple(ob.keypoints), now_s, now_s,
                          probs=None if ob.probs is None else np.asarray(ob.probs, np.float32).copy())
                self.next_id += 1
                self.tracks.append(t)
                if self.confirmed(t):
                    new.append(t)
            ids.append(t.id)
        ended = [t for t in self.tracks if now_s - t.last_s > self.max_missed_s]
        self.tracks = [t for t in self.tracks if now_s - t.last_s <= self.max_missed_s]
        self.followed = self._follow(frame_size)
        return TrackStep(ids, list(self.tracks), new, [t for t in ended if self.confirmed(t)], self.followed)

    def close(self) -> TrackStep:
        """End every live track (the loop stops): they come back in `ended`, confirmed ones only."""
        ended = [t for t in self.tracks if self.confirmed(t)]
        self.tracks, self.followed = [], None
        return TrackStep([], [], [], ended, None)

    def _observe(self, t: Track, now_s: float, ob: Observation) -> None:
        dt = now_s - t.last_s
        if dt > 0:
            (cx, cy), (nx, ny) = _centre(t.box), _centre(ob.box)
            v = ((nx - cx) / dt, (ny - cy) / dt)
            a = VELOCITY_ALPHA
            t.velocity = (a * v[0] + (1 - a) * t.velocity[0], a * v[1] + (1 - a) * t.velocity[1])
        t.box, t.keypoints, t.last_s, t.seen = ob.box, tuple(ob.keypoints), now_s, True
        t.hits += 1
        if ob.probs is not None:
            p = np.asarray(ob.probs, np.float32)
            t.probs = p.copy() if t.probs is None else self.smoothing * t.probs + (1.0 - self.smoothing) * p

    def _follow(self, frame_size: tuple[int, int] | None) -> int | None:
        """The followed track: kept while it lives, unless the policy's margin says another face took over."""
        cands = [t for t in self.tracks if self.confirmed(t) and t.seen]
        current = next((t for t in self.tracks if t.id == self.followed), None)
        if not cands:
            return current.id if current is not None else None
        if self.follow == "longest":
            best = min(cands, key=lambda t: (t.first_s, t.id))
            return current.id if current is not None else best.id
        if self.follow == "largest":
            best = max(cands, key=lambda t: t.box.area)
            if current is None or best.box.area > LARGEST_MARGIN * current.box.area:
                return best.id
            return current.id
        w, h = frame_size or (0, 0)
        half_diag = math.hypot(w, h) / 2.0 or 1.0

        def off_centre(t: Track) -> float:
            cx, cy = _centre(t.box)
            return math.hypot(cx - w / 2.0, cy - h / 2.0) / half_diag

        best = min(cands, key=off_centre)
        if current is None or off_centre(best) < off_centre(current) - CENTRE_MARGIN:
            return best.id
        return current.id
