"""The face detector interface and the small values it returns."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Sequence

import cv2
import numpy as np


class DetectorUnavailable(RuntimeError):
    """The detector's library or model is missing."""


@dataclass(frozen=True)
class Box:
    """Axis-aligned box in pixels: top-left corner (x, y), width w, height h."""

    x: float
    y: float
    w: float
    h: float

    @property
    def area(self) -> float:
        return max(0.0, self.w) * max(0.0, self.h)

    def iou(self, other: "Box") -> float:
        """Intersection over union; 0.0 when either box is empty."""
        ix = max(0.0, min(self.x + self.w, other.x + other.w) - max(self.x, other.x))
        iy = max(0.0, min(self.y + self.h, other.y + other.h) - max(self.y, other.y))
        inter = ix * iy
        union = self.area + other.area - inter
        return inter / union if union > 0 else 0.0

    def scale(self, sx: float, sy: float | None = None) -> "Box":
        """The box with every coordinate multiplied (e.g. to map between image sizes)."""
        sy = sx if sy is None else sy
        return Box(self.x * sx, self.y * sy, self.w * sx, self.h * sy)

    def clip(self, width: int, height: int) -> "Box":
        """The part of the box inside a width x height image."""
        x0, y0 = min(max(self.x, 0.0), width), min(max(self.y, 0.0), height)
        x1, y1 = min(max(self.x + self.w, 0.0), width), min(max(self.y + self.h, 0.0), height)
        return Box(x0, y0, x1 - x0, y1 - y0)

    def to_list(self) -> list[int]:
        """[x, y, w, h] rounded to whole pixels, as published."""
        return [int(round(v)) for v in (self.x, self.y, self.w, self.h)]


@dataclass(frozen=True)
class Detection:
    """One face: its box, the detector's confidence and, when the detector gives them, keypoints (x, y) in pixels."""

    box: Box
    score: float
    keypoints: tuple[tuple[float, float], ...] = ()

    def to_dict(self) -> dict:
        return {"box": self.box.to_list(), "score": round(float(self.score), 4)}


def as_bgr(image: np.ndarray) -> np.ndarray:
    """Gray, BGR or BGRA uint8 image -> BGR uint8; anything else is refused with the reason."""
    if not isinstance(image, np.ndarray) or image.dtype != np.uint8:
        raise ValueError(f"expected a uint8 numpy image, got {type(image).__name__} "
                         f"{getattr(image, 'dtype', '')}; read images with cv2.imread")
    if image.ndim == 3 and image.shape[2] == 1:
        image = image[:, :, 0]
    if image.ndim == 2:
        image = cv2.cvtColor(image, cv2.COLOR_GRAY2BGR)
    elif image.ndim == 3 and image.shape[2] == 4:
        image = cv2.cvtColor(image, cv2.COLOR_BGRA2BGR)
    elif image.ndim != 3 or image.shape[2] != 3:
        raise ValueError(f"expected a gray, BGR or BGRA image, got shape {image.shape}")
    if image.shape[0] == 0 or image.shape[1] == 0:
        raise ValueError(f"empty image of shape {image.shape}")
    return image


def keep(detections: Sequence[Detection], max_faces: int, min_face_px: int = 0) -> list[Detection]:
    """The `max_faces` largest detections at least `min_face_px` across (the config's detect.max_faces / min_face_px)."""
    big = [d for d in detections if min(d.box.w, d.box.h) >= min_face_px]
    return sorted(big, key=lambda d: d.box.area, reverse=True)[:max_faces]


class FaceDetector(ABC):
    """Loads its model once; `detect` finds the faces of one frame, best score first."""

    name = "base"

    @abstractmethod
    def detect(self, image_bgr: np.ndarray) -> list[Detection]:
        """Faces in a gray, BGR or BGRA uint8 image; boxes in that image's pixels."""
