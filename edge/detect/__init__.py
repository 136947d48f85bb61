"""Face detectors, a registry keyed by name; each vendor import stays in its own module."""

from __future__ import annotations

import logging

from ..paths import MODELS_DIR
from ..registry import import_class
from .base import Box, Detection, DetectorUnavailable, FaceDetector, keep

logger = logging.getLogger(__name__)

# name -> (module, class, bundled model file or None, pip package the module needs or None)
DETECTORS = {
    "blazeface": ("edge.detect.blazeface", "BlazeFaceDetector", "blazeface_short_range.tflite", None),
    "blazeface-full": ("edge.detect.blazeface", "BlazeFaceDetector", "blazeface_full_range.tflite", None),
    "haar": ("edge.detect.haar", "HaarDetector", None, None),
    "mediapipe": ("edge.detect.mediapipe_detector", "MediaPipeDetector", "blazeface_short_range.tflite", "mediapipe"),
}

__all__ = ["DETECTORS", "Box", "Detection", "DetectorUnavailable", "FaceDetector", "keep", "make_detector"]


def make_detector(name: str, min_score: float = 0.5, threads: int = 1, backend: str | None = None) -> FaceDetector:
    """Build the named detector; a missing library or model gives an error that names the fix."""
    if name not in DETECTORS:
        raise DetectorUnavailable(f"unknown face detector {name!r}; choose one of {', '.join(DETECTORS)}")
    module, cls, model, package = DETECTORS[name]
    fix = f"pip install 'edge-emotion[{package}]'" if package else "reinstall edge-emotion"
    detector_class = import_class("face detector", name, module, cls, package, DetectorUnavailable, fix)
    if model is None:
        return detector_class(min_score=min_score)
    path = MODELS_DIR / model
    if not path.is_file():
        raise DetectorUnavailable(f"face detector {name!r} needs its model {path}, which is missing; "
                                  "reinstall edge-emotion (the model ships as package data)")
    return detector_class(path, min_score=min_score, threads=threads, backend=backend)
