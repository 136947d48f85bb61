"""Face detectors, registered by name in edge/registry.py; each vendor import stays in its own module."""

from __future__ import annotations

import logging

from ..paths import MODELS_DIR
from ..registry import DETECTORS, load
from .base import Box, Detection, DetectorUnavailable, FaceDetector, keep

logger = logging.getLogger(__name__)

__all__ = ["Box", "Detection", "DetectorUnavailable", "FaceDetector", "keep", "make_detector"]


def make_detector(name: str, min_score: float = 0.5, threads: int = 1, backend: str | None = None) -> FaceDetector:
    """Build the named detector; a missing library or model gives an error that names the fix."""
    entry = DETECTORS.get(name)
    fix = f"pip install 'edge-emotion[{entry.extra}]'" if entry and entry.extra else "reinstall edge-emotion"
    detector_class = load(DETECTORS, name, "face detector", DetectorUnavailable, fix)
    model = entry.model
    if model is None:
        return detector_class(min_score=min_score)
    path = MODELS_DIR / model
    if not path.is_file():
        raise DetectorUnavailable(f"face detector {name!r} needs its model {path}, which is missing; "
                                  "reinstall edge-emotion (the model ships as package data)")
    return detector_class(path, min_score=min_score, threads=threads, backend=backend)
