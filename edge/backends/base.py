"""The one interface every inference backend implements."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import NamedTuple, Sequence

import numpy as np


class TensorInfo(NamedTuple):
    name: str
    shape: tuple[int, ...]
    dtype: np.dtype
    scale: float  # 0.0: not quantized
    zero_point: int


class BackendUnavailable(RuntimeError):
    """The backend's library is not installed or cannot open this model."""


class InferenceBackend(ABC):
    """Loads one model once; `run` fills the input, invokes and returns the raw outputs."""

    name = "base"
    formats: tuple[str, ...] = ()  # file suffixes this backend opens

    inputs: list[TensorInfo]
    outputs: list[TensorInfo]

    @abstractmethod
    def __init__(self, model_path: str, threads: int = 1, providers: Sequence[str] | None = None) -> None: ...

    @abstractmethod
    def run(self, x: np.ndarray) -> list[np.ndarray]:
        """Run one batch through the model; `x` already has the input's dtype."""
