"""Face preprocessing, shared by training (convert/) and the device.

The training code takes FACE_PREPROCESS from here and writes it into each
model's description; the device applies whatever the description says.
"""

from __future__ import annotations

from typing import Any, Sequence

import cv2
import numpy as np

# FER2013 faces: 48x48 grayscale, pixel p in 0..255 fed as p * scale + offset (0..1).
# crop_margin: the detector's box grows by this fraction of its size on every side,
# because FER2013 crops include forehead and chin beyond a detector's tight box.
FACE_PREPROCESS: dict[str, Any] = {
    "size": [48, 48],
    "color": "gray",
    "scale": 1.0 / 255.0,
    "offset": 0.0,
    "crop_margin": 0.15,
}


def to_gray(image: np.ndarray) -> np.ndarray:
    """BGR or BGRA or gray uint8 image -> gray uint8."""
    if image.ndim == 2:
        return image
    if image.shape[2] == 4:
        return cv2.cvtColor(image, cv2.COLOR_BGRA2GRAY)
    if image.shape[2] == 1:
        return image[:, :, 0]
    return cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)


def pixels_to_input(gray: np.ndarray, spec: dict[str, Any] = FACE_PREPROCESS) -> np.ndarray:
    """(N, H, W) uint8 faces already at the model size -> (N, H, W, 1) float32 input."""
    x = gray.astype(np.float32) * float(spec["scale"]) + float(spec["offset"])
    return x[..., None]


def face_batch(crops: Sequence[np.ndarray], spec: dict[str, Any] = FACE_PREPROCESS) -> np.ndarray:
    """Face crops of any size (gray or BGR uint8) -> (N, H, W, 1) float32 model input."""
    w, h = spec["size"][1], spec["size"][0]
    out = np.empty((len(crops), h, w), np.uint8)
    for i, crop in enumerate(crops):
        g = to_gray(crop)
        interp = cv2.INTER_AREA if g.shape[0] > h else cv2.INTER_LINEAR
        out[i] = cv2.resize(g, (w, h), interpolation=interp)
    return pixels_to_input(out, spec)


def crop_with_margin(image: np.ndarray, box: Sequence[float], margin: float) -> np.ndarray:
    """Square crop around box (x, y, w, h), grown by `margin` per side, clamped to the image."""
    x, y, w, h = box
    cx, cy = x + w / 2.0, y + h / 2.0
    side = max(w, h) * (1.0 + 2.0 * margin)
    x0, y0 = int(round(cx - side / 2)), int(round(cy - side / 2))
    x1, y1 = int(round(cx + side / 2)), int(round(cy + side / 2))
    H, W = image.shape[:2]
    crop = image[max(0, y0):min(H, y1), max(0, x0):min(W, x1)]
    if crop.size == 0:
        raise ValueError(f"box {tuple(box)} lies outside the {W}x{H} image")
    return crop
