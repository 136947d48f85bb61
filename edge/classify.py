"""Face expression classification: crops from detections, preprocessing from the model's description."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np

from .model import Model
from .preprocess import crop_with_margin, face_batch


@dataclass(frozen=True)
class FaceResult:
    box: tuple[int, int, int, int]  # x, y, w, h in image pixels
    score: float  # detection confidence (1.0 for --crop inputs)
    emotion: str
    confidence: float
    probs: np.ndarray  # over the model's labels
    keypoints: tuple = ()  # the detector's (x, y) keypoints in image pixels, for tracking; not published

    def to_dict(self, labels: Sequence[str]) -> dict:
        return {
            "box": list(self.box),
            "score": round(self.score, 4),
            "emotion": self.emotion,
            "confidence": round(self.confidence, 4),
            "probs": {l: round(float(p), 4) for l, p in zip(labels, self.probs)},
        }


class FaceClassifier:
    """Loads the face model once; classifies all faces of a frame in one call."""

    def __init__(self, path: str | Path, backend: str | None = None, threads: int = 1,
                 providers: Sequence[str] | None = None) -> None:
        self.model = Model(path, backend=backend, threads=threads, providers=providers)
        if self.model.description.task != "face":
            raise ValueError(f"{path}: task is {self.model.description.task!r}, not a face model")
        self.labels = self.model.labels
        self.spec = self.model.description.preprocess
        self.margin = float(self.spec.get("crop_margin", 0.0))

    def crops(self, image: np.ndarray, boxes: Sequence[Sequence[float]]) -> list[np.ndarray]:
        return [crop_with_margin(image, b, self.margin) for b in boxes]

    def preprocess(self, crops: Sequence[np.ndarray]) -> np.ndarray:
        return face_batch(crops, self.spec)

    def predict(self, x: np.ndarray) -> np.ndarray:
        """(N, H, W, 1) float input -> (N, classes) probabilities."""
        if len(x) == 0:
            return np.zeros((0, len(self.labels)), np.float32)
        return self.model.predict(x)

    def results(self, boxes: Sequence[Sequence[float]], scores: Sequence[float], probs: np.ndarray,
                keypoints: Sequence[tuple] | None = None) -> list[FaceResult]:
        out = []
        for k, (b, s, p) in enumerate(zip(boxes, scores, probs)):
            i = int(np.argmax(p))
            out.append(FaceResult(tuple(int(round(v)) for v in b), float(s), self.labels[i], float(p[i]), p,
                                  tuple(keypoints[k]) if keypoints else ()))
        return out
