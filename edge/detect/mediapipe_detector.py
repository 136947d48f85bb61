"""The mediapipe package's own face detector (its Tasks API) on the bundled short-range BlazeFace model."""

from __future__ import annotations

import logging
from pathlib import Path

import cv2
import mediapipe as mp  # imported only when this detector is chosen: the default path never loads mediapipe
import numpy as np
from mediapipe.tasks.python import BaseOptions, vision

from .base import Box, Detection, FaceDetector, as_bgr

logger = logging.getLogger(__name__)


class MediaPipeDetector(FaceDetector):
    """MediaPipe's C++ graph does the decoding; useful as a cross-check of the numpy BlazeFace."""

    name = "mediapipe"

    def __init__(self, model_path: str | Path, min_score: float = 0.5, threads: int = 1,
                 backend: str | None = None) -> None:
        # threads and backend are accepted for a uniform constructor; mediapipe picks its own.
        options = vision.FaceDetectorOptions(base_options=BaseOptions(model_asset_path=str(model_path)),
                                             min_detection_confidence=float(min_score))
        self.detector = vision.FaceDetector.create_from_options(options)

    def detect(self, image_bgr: np.ndarray) -> list[Detection]:
        image = as_bgr(image_bgr)
        h, w = image.shape[:2]
        rgb = np.ascontiguousarray(cv2.cvtColor(image, cv2.COLOR_BGR2RGB))
        result = self.detector.detect(mp.Image(image_format=mp.ImageFormat.SRGB, data=rgb))
        out = []
        for d in result.detections:
            b = d.bounding_box
            kps = tuple((k.x * w, k.y * h) for k in d.keypoints or ())
            out.append(Detection(Box(float(b.origin_x), float(b.origin_y), float(b.width), float(b.height)),
                                 float(d.categories[0].score), kps))
        return sorted(out, key=lambda d: d.score, reverse=True)

    def close(self) -> None:
        if self.detector is not None:
            self.detector.close()
            self.detector = None
