"""Late fusion of the channels' probabilities (face, voice, text) over the union label set, keyed by channel name.

Label mapping onto FUSED_LABELS (angry, disgust, fear, happy, sad, surprise, neutral, bored):
face, voice and text share angry, disgust, fear, happy, sad and neutral by name; `surprise`
exists only for faces and text, `bored` only for voice. A modality has no say on a label it
cannot express (NaN in its fused vector): each label is the weighted mean over the
modalities that can express it, so a voice result neither votes for nor against the
face's surprise. A modality that is absent (no face, no recent speech) drops out and the
remaining weights are renormalised.

A model of one's own may have labels no other model has (a face model with `contempt`, a
voice model with `calm`): its vector covers FUSED_LABELS and then its own extra labels, and
the same rule holds, so only the channels that can express `contempt` have a say on it. The
fused result then lists FUSED_LABELS and every extra label seen since the last reset.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Mapping, Sequence

import numpy as np

from ..labels import FUSED_LABELS



def fused_labels(labels: Sequence[str]) -> tuple[str, ...]:
    """The labels a model's fused vector covers: FUSED_LABELS, then the model's own others in its order."""
    extra = [label for label in dict.fromkeys(labels) if label not in FUSED_LABELS]
    return FUSED_LABELS + tuple(extra)


class LabelledVector(np.ndarray):
    """A float32 vector that carries the label of each entry (`labels`); otherwise a plain ndarray.

    numpy's documented subclassing pattern: element-wise results keep the labels, while reductions over a list
    of vectors (np.mean) give plain arrays; `relabel` puts them back.
    """

    labels: tuple[str, ...]

    def __new__(cls, values, labels: Sequence[str]) -> "LabelledVector":
        obj = np.asarray(values, np.float32).view(cls)
        obj.labels = tuple(labels)
        if obj.shape != (len(obj.labels),):
            raise ValueError(f"{obj.shape} values for {len(obj.labels)} labels")
        return obj

    def __array_finalize__(self, obj) -> None:
        self.labels = getattr(obj, "labels", FUSED_LABELS)


def to_fused(probs: Sequence[float] | np.ndarray, labels: Sequence[str]) -> LabelledVector:
    """A model's probabilities over its own labels -> a vector over `fused_labels(labels)`, NaN where it has no
    label (a label twice in a model's list: its probabilities add up)."""
    names = fused_labels(labels)
    index = {label: i for i, label in enumerate(names)}
    out = np.full(len(names), np.nan, np.float32)
    for p, label in zip(probs, labels):
        i = index[label]
        out[i] = float(p) + (0.0 if np.isnan(out[i]) else out[i])
    return LabelledVector(out, names)


def relabel(vector: np.ndarray, labels: Sequence[str]) -> LabelledVector:
    """A plain vector of a model's fused values (a mean over frames) -> labelled again with `fused_labels(labels)`."""
    return LabelledVector(vector, fused_labels(labels))


def labels_of(vector: np.ndarray) -> tuple[str, ...]:
    """What each entry of a channel's vector stands for; a plain vector must cover FUSED_LABELS exactly."""
    labels = getattr(vector, "labels", None)
    if labels is None:
        if len(vector) != len(FUSED_LABELS):
            raise ValueError(f"a fused vector of {len(vector)} values without labels (FUSED_LABELS has "
                             f"{len(FUSED_LABELS)}); build it with edge.fuse.fusion.to_fused")
        return FUSED_LABELS
    return labels


def _over(vector: np.ndarray, labels: tuple[str, ...], fill: float) -> np.ndarray:
    """`vector` re-indexed onto `labels` (a superset of its own), `fill` where it has no entry."""
    own = dict(zip(labels_of(vector), np.asarray(vector, np.float64)))
    return np.array([own.get(label, fill) for label in labels], np.float64)


@dataclass(frozen=True)
class Fused:
    emotion: str | None
    confidence: float
    probs: np.ndarray | None  # over `labels`
    sources: tuple[str, ...]
    labels: tuple[str, ...] = FUSED_LABELS  # FUSED_LABELS, then any model's own extra labels

    def to_dict(self) -> dict:
        return {
            "emotion": self.emotion,
            "confidence": round(self.confidence, 4),
            "probs": None if self.probs is None else {l: round(float(p), 4) for l, p in zip(self.labels, self.probs)},
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
        labels = fused_labels([label for _, p in present for label in labels_of(p)])
        probs = np.stack([_over(p, labels, np.nan) for _, p in present])  # NaN: the channel cannot express it
        weights = np.array([self.weights[name] for name, _ in present])[:, None]
        can = ~np.isnan(probs)  # which channel can express which label
        num = (np.where(can, probs, 0.0) * weights).sum(axis=0)
        den = (can * weights).sum(axis=0)
        mix = np.divide(num, den, out=np.zeros_like(num), where=den > 0)
        return LabelledVector(mix / max(float(mix.sum()), 1e-9), labels), tuple(name for name, _ in present)

    def update(self, parts: Mapping[str, np.ndarray | None]) -> Fused:
        """Fuse this step's modalities into the smoothed estimate; nothing present resets it."""
        mix, sources = self.combine(parts)
        if mix is None:
            self._state = None
            return Fused(None, 0.0, None, ())
        s = self.smoothing
        if self._state is None or s == 0.0:  # unsmoothed (infer): each step on its own, with its own labels
            self._state = mix
        else:  # labels seen earlier stay (decaying); a label new this step starts from 0 in the smoothed state
            labels = fused_labels(labels_of(self._state) + labels_of(mix))
            state = s * _over(self._state, labels, 0.0) + (1.0 - s) * _over(mix, labels, 0.0)
            self._state = LabelledVector(state, labels)
        i = int(np.argmax(self._state))
        labels = labels_of(self._state)
        return Fused(labels[i], float(self._state[i]), self._state.copy(), sources, labels)

    def reset(self) -> None:
        self._state = None
