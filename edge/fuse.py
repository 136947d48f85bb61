"""Late fusion of the channels' probabilities (face, voice, text) over the union label set, keyed by channel name.

Label mapping onto FUSED_LABELS (angry, disgust, fear, happy, sad, surprise, neutral, bored):
face, voice and text share angry, disgust, fear, happy, sad and neutral by name; `surprise`
exists only for faces and text, `bored` only for voice. A modality has no say on a label it
cannot express (NaN in its fused vector): each label is the weighted mean over the
modalities that can express it, so a voice result neither votes for nor against the
face's surprise. A modality that is absent (no face, no recent speech) drops out and the
remaining weights are renormalised.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Mapping, Sequence

import numpy as np

from .labels import FUSED_LABELS

_INDEX = {label: i for i, label in enumerate(FUSED_LABELS)}


def to_fused(probs: Sequence[float] | np.ndarray, labels: Sequence[str]) -> np.ndarray:
    """A model's probabilities over its own labels -> a vector over FUSED_LABELS, NaN where it has no label."""
    out = np.full(len(FUSED_LABELS), np.nan, np.float32)
    for p, label in zip(probs, labels):
        if label not in _INDEX:
            raise ValueError(f"label {label!r} is not in the fused label set {FUSED_LABELS}")
        i = _INDEX[label]
        out[i] = float(p) + (0.0 if np.isnan(out[i]) else out[i])
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
    """Per label, the weighted mean of the channels present that can express it; then exponential smoothing."""

    WEIGHT_SUFFIX = "_weight"  # fusion.<channel>_weight

    def __init__(self, weights: Mapping[str, float], smoothing: float = 0.6) -> None:
        self.weights = dict(weights)  # channel name -> weight
        if not 0.0 <= smoothing < 1.0:
            raise ValueError(f"smoothing must be in [0, 1), got {smoothing}")
        self.smoothing = smoothing
        self._state: np.ndarray | None = None

    @classmethod
    def from_config(cls, fusion, smooth: bool = True) -> "Fuser":
        """From the [fusion] section: every `<channel>_weight` key; `smooth=False` fuses each step on its own
        (`infer`: files are independent)."""
        n = len(cls.WEIGHT_SUFFIX)
        weights = {f.name[:-n]: float(getattr(fusion, f.name)) for f in dataclasses.fields(fusion)
                   if f.name.endswith(cls.WEIGHT_SUFFIX)}
        return cls(weights, fusion.smoothing if smooth else 0.0)

    def combine(self, parts: Mapping[str, np.ndarray | None]) -> tuple[np.ndarray | None, tuple[str, ...]]:
        """Per label, the weighted mean over the present channels that can express it; renormalised, unsmoothed."""
        unknown = [name for name in parts if name not in self.weights]
        if unknown:
            raise ValueError(f"no fusion weight for channel {unknown[0]!r}: add fusion.{unknown[0]}{self.WEIGHT_SUFFIX}")
        present = [(name, p) for name, p in parts.items() if p is not None and self.weights[name] > 0]
        if not present:
            return None, ()
        probs = np.stack([p for _, p in present]).astype(np.float64)
        weights = np.array([self.weights[name] for name, _ in present])[:, None]
        can = ~np.isnan(probs)  # which channel can express which label
        num = (np.where(can, probs, 0.0) * weights).sum(axis=0)
        den = (can * weights).sum(axis=0)
        mix = np.divide(num, den, out=np.zeros_like(num), where=den > 0)
        return (mix / max(float(mix.sum()), 1e-9)).astype(np.float32), tuple(name for name, _ in present)

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
