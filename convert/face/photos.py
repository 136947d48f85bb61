"""Calibration faces for a face model of your own: photos cut by the device's own crop (BlazeFace box, the model's
margin, resize, colour and scaling), so the int8 ranges are fitted to what the device will feed the model."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from edge.classify.face_preprocess import crop_with_margin, face_batch
from edge.detect import make_detector
from edge.detect.base import keep

logger = logging.getLogger(__name__)

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".webp")
# The device's default detector score floor ([detect] min_score): calibration keeps the faces the device would keep.
MIN_SCORE = 0.5


def photo_paths(folder: str | Path) -> list[Path]:
    """Every image under `folder` (sub-folders included, e.g. one per label), sorted."""
    return sorted(p for p in Path(folder).rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES)


def own_preprocess(input_shape: tuple[int, ...], scale: float, mean: float | list[float], std: float | list[float],
                   crop_margin: float) -> dict[str, Any]:
    """The sidecar's `preprocess` for a model taking (H, W, C) float input: pixel p is fed as (p * scale - mean) / std,
    which the runtime applies as p * scale' + offset (one value, or one per channel for mean and std)."""
    if len(input_shape) != 3 or any(v is None for v in input_shape):
        raise ValueError(f"the model's input is {tuple(input_shape)} per image; a face model takes (height, width, "
                         "channels) of a fixed size: build it with keras.Input((H, W, C))")
    h, w, c = (int(v) for v in input_shape)
    if c not in (1, 3):
        raise ValueError(f"the model's input is {h}x{w}x{c}; a face model takes 1 (gray) or 3 (RGB) channels, "
                         "channels last")
    for flag, v in (("--mean", mean), ("--std", std)):
        if isinstance(v, list) and len(v) != c:
            raise ValueError(f"{flag} has {len(v)} values, the model's input has {c} channel(s); give one or {c}")
    m, s = np.asarray(mean, np.float64), np.asarray(std, np.float64)
    offset = -m / s + 0.0  # + 0.0: a mean of 0 gives 0.0, not -0.0, in the sidecar
    return {"size": [h, w], "color": "gray" if c == 1 else "rgb", "scale": _plain(scale / s), "offset": _plain(offset),
            "crop_margin": crop_margin, "normalize": {"scale": scale, "mean": mean, "std": std}}


def _plain(v: np.ndarray) -> float | list[float]:
    """A number, or a list for per-channel values, as JSON writes them."""
    return float(v) if v.ndim == 0 else [float(x) for x in v]


def calibration(folder: str | Path, spec: dict[str, Any], n: int, minimum: int) -> np.ndarray:
    """Up to `n` faces from the photos in `folder` as the model's float32 input: the largest face of each photo."""
    paths = photo_paths(folder)
    detector = make_detector("blazeface", min_score=MIN_SCORE)
    crops, missed = [], 0
    for path in paths:
        if len(crops) >= n:
            break
        image = cv2.imread(str(path), cv2.IMREAD_COLOR)
        found = keep(detector.detect(image), 1) if image is not None else []
        if not found:
            missed += 1
            continue
        crops.append(crop_with_margin(image, found[0].box.to_list(), float(spec["crop_margin"])))
    if len(crops) < minimum:
        raise ValueError(f"--calib-dir {folder}: {len(crops)} faces found in {len(paths)} images (BlazeFace, score "
                         f">= {MIN_SCORE}), calibration needs at least {minimum}; add photos with one visible face each")
    logger.info("calibration: %d faces from %s (%d images without a face skipped)", len(crops), folder, missed)
    return face_batch(crops, spec)
