"""Face expression classification: crops from detections, preprocessing from the model's description."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np

from .face_preprocess import align_face, crop_with_margin, face_batch
from .model import Model


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
                 providers: Sequence[str] | None = None, mirror: bool = False, prior: str = "natural") -> None:
        self.model = Model(path, backend=backend, threads=threads, providers=providers)
        if self.model.description.task != "face":
            raise ValueError(f"{path}: task is {self.model.description.task!r}, not a face model")
        self.labels = self.model.labels
        self.spec = self.model.description.preprocess
        self.margin = float(self.spec.get("crop_margin", 0.0))
        self.align = self.spec.get("align")
        self._width_axis = 3 if self.spec.get("layout") == "nchw" else 2
        # The deployment prior (models.face_prior): probabilities re-weighted from FER2013's class mix to a room's,
        # p ~ p_model * exp(shift), with the shift calibrate-face fitted on PublicTest (none in the sidecar: no shift).
        shift = (self.model.description.raw.get("calibration") or {}).get("prior_shift")
        self.prior_weight = np.exp(np.asarray(shift, np.float64)) if shift and prior == "natural" else None
        # A graph that already averages a face with its mirror image must not be given mirrored faces again.
        self.mirror = bool(mirror) and not self.model.description.raw.get("graph", {}).get("mirror_average", False)

    def crops(self, image: np.ndarray, boxes: Sequence[Sequence[float]],
              keypoints: Sequence[Sequence[Sequence[float]]] | None = None) -> list[np.ndarray]:
        """Face images for the model: aligned on the keypoints when the model asks for it and the detector gave
        them (BlazeFace), else the box grown by the model's margin (Haar, or a model without alignment)."""
        if not self.align or keypoints is None:
            return [crop_with_margin(image, b, self.margin) for b in boxes]
        need = max(self.align["keypoints"]) + 1
        return [align_face(image, k, self.spec) if len(k) >= need else crop_with_margin(image, b, self.margin)
                for b, k in zip(boxes, keypoints)]

    def preprocess(self, crops: Sequence[np.ndarray]) -> np.ndarray:
        return face_batch(crops, self.spec)

    def predict(self, x: np.ndarray) -> np.ndarray:
        """(N, H, W, 1) float input -> (N, classes) probabilities."""
        if len(x) == 0:
            return np.zeros((0, len(self.labels)), np.float32)
        if self.mirror:
            p = self.model.predict(np.concatenate([x, np.flip(x, axis=self._width_axis)]))
            p = 0.5 * (p[:len(x)] + p[len(x):])
        else:
            p = self.model.predict(x)
        if self.prior_weight is None:
            return p
        q = p * self.prior_weight
        return (q / q.sum(1, keepdims=True)).astype(np.float32)

    def results(self, boxes: Sequence[Sequence[float]], scores: Sequence[float], probs: np.ndarray,
                keypoints: Sequence[tuple] | None = None) -> list[FaceResult]:
        out = []
        for k, (b, s, p) in enumerate(zip(boxes, scores, probs)):
            i = int(np.argmax(p))
            out.append(FaceResult(tuple(int(round(v)) for v in b), float(s), self.labels[i], float(p[i]), p,
                                  tuple(keypoints[k]) if keypoints else ()))
        return out
