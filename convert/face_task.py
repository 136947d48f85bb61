"""What quantize and validate need to know about the face model: its data, calibration set and description."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from edge.labels import FACE_LABELS
from edge.preprocess import FACE_PREPROCESS, pixels_to_input

from .fer2013 import load

TRAINING_DATA = {
    "dataset": "FER2013 (Kaggle ICML 2013 challenge CSV)",
    "splits": {"train": "Training (28,709)", "selection": "PublicTest (3,589)", "report": "PrivateTest (3,589)"},
    "licence": "research / non-commercial use only (FER2013 terms)",
    "citation": "Goodfellow et al., Challenges in Representation Learning: A report on three machine learning contests, 2013",
}


def calibration(data: str | Path, n: int, seed: int = 0) -> np.ndarray:
    """`n` random Training faces, preprocessed exactly as in training."""
    train = load(data, splits=("Training",))["Training"]
    idx = np.sort(np.random.default_rng(seed).choice(len(train), min(n, len(train)), replace=False))
    return pixels_to_input(train.x[idx])


def evaluation(data: str | Path, split: str = "PrivateTest") -> tuple[np.ndarray, np.ndarray]:
    """Preprocessed faces and labels of one split (PrivateTest: the reported one)."""
    s = load(data, splits=(split,))[split]
    return pixels_to_input(s.x), s.y


def description(version: str, mirror_average: bool, metrics: dict[str, Any] | None = None) -> dict[str, Any]:
    """The caller-given part of every face artifact's sidecar."""
    d: dict[str, Any] = {
        "name": "face", "task": "face", "version": version, "labels": list(FACE_LABELS),
        "preprocess": dict(FACE_PREPROCESS), "training_data": TRAINING_DATA,
        "graph": {"mirror_average": mirror_average},  # flip test-time averaging is inside the model when true
    }
    if metrics:
        d["metrics"] = metrics
    return d
