"""OpenCV's own Haar cascade: the fallback detector, no model file of ours needed."""

from __future__ import annotations

import logging
from pathlib import Path

import cv2
import numpy as np

from .base import Box, Detection, DetectorUnavailable, FaceDetector, as_bgr

logger = logging.getLogger(__name__)

CASCADE = "haarcascade_frontalface_default.xml"


def cascade_path() -> Path:
    """The cascade file shipped inside the opencv-python wheels (`cv2.data`)."""
    data = getattr(cv2, "data", None)
    if data is None:  # distribution builds of OpenCV (apt, JetPack) lack cv2.data
        raise DetectorUnavailable("face detector 'haar' needs OpenCV's cascade files (cv2.data): "
                                  "pip install opencv-python-headless")
    path = Path(data.haarcascades) / CASCADE
    if not path.is_file():
        raise DetectorUnavailable(f"face detector 'haar': {path} is missing; reinstall opencv-python-headless")
    return path


class HaarDetector(FaceDetector):
    """Viola-Jones frontal faces; no calibrated confidence, so every face has score 1.0 and min_score is not used."""

    name = "haar"
    # OpenCV's documented defaults for faces: 10% scale steps, 5 overlapping hits to accept a face.
    scale_factor = 1.1
    min_neighbors = 5

    def __init__(self, min_score: float = 0.5, min_size: int = 24) -> None:
        self.cascade = cv2.CascadeClassifier(str(cascade_path()))
        if self.cascade.empty():
            raise DetectorUnavailable(f"face detector 'haar': OpenCV could not load {CASCADE}; "
                                      "reinstall opencv-python-headless")
        self.min_size = (min_size, min_size)  # the cascade's own window is 24x24: nothing smaller is found
        self.min_score = min_score

    def detect(self, image_bgr: np.ndarray) -> list[Detection]:
        gray = cv2.cvtColor(as_bgr(image_bgr), cv2.COLOR_BGR2GRAY)
        rects = self.cascade.detectMultiScale(gray, scaleFactor=self.scale_factor, minNeighbors=self.min_neighbors,
                                              minSize=self.min_size)
        found = [Detection(Box(float(x), float(y), float(w), float(h)), 1.0) for x, y, w, h in rects]
        return sorted(found, key=lambda d: d.box.area, reverse=True)
