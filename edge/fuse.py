"""Late fusion of face, voice (and optional text) probabilities over the union label set.

Label mapping onto FUSED_LABELS (angry, disgust, fear, happy, sad, surprise, neutral, bored):
face and voice share angry, disgust, fear, happy, sad and neutral by name; `surprise`
exists only for faces and `bored` only for voice, so each modality gives 0 to the label
it cannot see. A modality that is absent (no face, no recent speech) drops out and the
remaining weights are renormalised to sum to 1.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping, Sequence

import numpy as np

from .labels import FUSED_LABELS

_INDEX = {label: i for i, label in enumerate(FUSED_LABELS)}


def to_fused(probs: Sequence[float] | np.ndarray, labels: Sequence[str]) -> np.ndarray:
    """A model's probabilities over its own labels -> a vector over FUSED_LABELS."""
    out = np.zeros(len(FUSED_LABELS), np.float32)
    for p, label in zip(probs, labels):
        if label not in _INDEX:
            raise ValueError(f"label {label!r} is not in the fused label set {FUSED_LABELS}")
        out[_INDEX[label]] += float(p)
    return out


@dataclass(frozen=True)
class Fused:
    emotion: str | None
    confidence: float
    probs: np.ndarray | None  # over FUSED_LABELS
    sources: tuple[str, ...]

    def to_dict(self) -> dict:
        return {
            "emotion": self.emotion,
            "confidence": round(self.confidence, 4),
            "probs": None if self.probs is None else {l: round(float(p), 4) for l, p in zip(FUSED_LABELS, self.probs)},
            "sources": list(self.sources),
        }


class Fuser:
    """Weighted sum of the modalities present, then exponential smoothing over time."""

    def __init__(self, face_weight: float = 0.5, voice_weight: float = 0.3, text_weight: float = 0.2,
                 smoothing: float = 0.6) -> None:
        self.weights = {"face": face_weight, "voice": voice_weight, "text": text_weight}
        if not 0.0 <= smoothing < 1.0:
            raise ValueError(f"smoothing must be in [0, 1), got {smoothing}")
        self.smoothing = smoothing
        self._state: np.ndarray | None = None

    def combine(self, parts: Mapping[str, np.ndarray | None]) -> tuple[np.ndarray | None, tuple[str, ...]]:
        """Weighted, renormalised sum of the present modalities, without smoothing."""
        present = [(name, p) for name, p in parts.items() if p is not None and self.weights.get(name, 0.0) > 0]
        total = sum(self.weights[name] for name, _ in present)
        if not present or total <= 0:
            return None, ()
        mix = sum(self.weights[name] / total * p for name, p in present)
        return mix / max(float(mix.sum()), 1e-9), tuple(name for name, _ in present)

    def update(self, parts: Mapping[str, np.ndarray | None]) -> Fused:
        """Fuse this step's modalities into the smoothed estimate; nothing present resets it."""
        mix, sources = self.combine(parts)
        if mix is None:
            self._state = None
            return Fused(None, 0.0, None, ())
        s = self.smoothing
        self._state = mix if self._state is None else s * self._state + (1.0 - s) * mix
        i = int(np.argmax(self._state))
        return Fused(FUSED_LABELS[i], float(self._state[i]), self._state.copy(), sources)

    def reset(self) -> None:
        self._state = None
