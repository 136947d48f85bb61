"""Soft labels from teacher models, mixed into the training targets (knowledge distillation).

An online teacher is any face model edge/ can run (e.g. the bundled `face_large_int8.tflite`): it labels each
augmented training face as the student sees it, before the camera degradations, so the student learns to give
a degraded face the teacher's answer for the clean one. Fixed soft labels (one row per Training face, from a
teacher too slow to run every epoch) are given as a .npy of probabilities.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

from edge.classify.model import Model
from edge.classify.face_preprocess import pixels_to_input

logger = logging.getLogger(__name__)


class OnlineTeacher:
    """A face model through edge.classify.model.Model; `__call__` takes uint8 48x48 faces, returns probabilities."""

    def __init__(self, path: str | Path, threads: int = 1) -> None:
        self.model = Model(path, threads=threads)
        self.spec = self.model.description.preprocess
        if tuple(self.spec["size"]) != (48, 48) or self.spec.get("color") != "gray":
            raise SystemExit(f"--teacher {path}: takes {self.spec['size']} {self.spec.get('color')} faces; an online "
                             "teacher must take FER2013's 48x48 gray faces (run a slower teacher once: --soft-labels)")

    def __call__(self, faces: np.ndarray) -> np.ndarray:
        p = self.model.predict(pixels_to_input(faces, self.spec))
        return p / np.maximum(p.sum(1, keepdims=True), 1e-6)  # int8 outputs sum to 1 only within rounding


def soft_labels(path: str | Path, n: int) -> np.ndarray:
    """(n, 7) probabilities per Training face, in FER2013 row order."""
    p = np.load(path).astype(np.float32)
    if p.shape != (n, 7):
        raise SystemExit(f"--soft-labels {path}: shape {p.shape}, expected ({n}, 7) for the {n} Training faces")
    return p / np.maximum(p.sum(1, keepdims=True), 1e-6)


def targets(onehot: np.ndarray, online: np.ndarray | None, fixed: np.ndarray | None, w_online: float,
            w_fixed: float) -> np.ndarray:
    """Convex mix of the hard label and the teachers' probabilities (cross-entropy on it = CE + KL terms)."""
    y = onehot * (1.0 - (w_online if online is not None else 0.0) - (w_fixed if fixed is not None else 0.0))
    if online is not None:
        y = y + w_online * online
    if fixed is not None:
        y = y + w_fixed * fixed
    return y.astype(np.float32)
