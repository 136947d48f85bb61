"""Speaker/channel normalisation by running statistics: what training does per speaker, the device does per stream."""

from __future__ import annotations

from typing import Any

import numpy as np


class RunningNorm:
    """z-scores feature vectors with the running mean and variance of the utterances heard so far.

    Training normalises each speaker by its own statistics. The device cannot know the speaker's
    statistics in advance, so it starts from the training prior (the average speaker), counts it as
    `prior_count` utterances, and moves towards the voice and microphone it actually hears; after
    `max_count` utterances old ones fade out, so a new speaker takes over.
    """

    def __init__(self, mean: np.ndarray, std: np.ndarray, prior_count: float, max_count: float,
                 clip: float) -> None:
        self.prior_mean = np.asarray(mean, np.float64)
        self.prior_var = np.asarray(std, np.float64) ** 2
        self.prior_count, self.max_count, self.clip = float(prior_count), float(max_count), float(clip)
        self.reset()

    @classmethod
    def from_description(cls, d: dict[str, Any]) -> "RunningNorm":
        return cls(d["mean"], d["std"], d["prior_count"], d["max_count"], d["clip"])

    def reset(self) -> None:
        """Forget every utterance heard; back to the training prior."""
        self.n = self.prior_count
        self._sum = self.prior_mean * self.n
        self._sq = (self.prior_var + self.prior_mean ** 2) * self.n

    @property
    def heard(self) -> float:
        return self.n - self.prior_count

    def update(self, x: np.ndarray) -> None:
        """Count one utterance (its mean feature vector when it has several windows)."""
        if self.n + 1 > self.max_count:  # exponential forgetting beyond max_count
            keep = (self.max_count - 1) / self.n
            self._sum *= keep
            self._sq *= keep
            self.n *= keep
        self._sum += x
        self._sq += x.astype(np.float64) ** 2
        self.n += 1

    def apply(self, x: np.ndarray) -> np.ndarray:
        """(..., features) -> z-scores clipped to +-clip, float32."""
        mean = self._sum / self.n
        std = np.sqrt(np.maximum(self._sq / self.n - mean ** 2, 1e-12))
        return np.clip((x - mean) / std, -self.clip, self.clip).astype(np.float32)
