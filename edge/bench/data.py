"""The gate's labelled sets, read with edge/ alone (edge.bench.datasets), as the gate needs them."""

from __future__ import annotations

from pathlib import Path
from typing import Iterator

import numpy as np

from edge.bench.datasets import DatasetError, read_emodb, read_fer2013
from edge.labels import FACE_LABELS

DataError = DatasetError  # the name the gate's callers know


def fer2013_split(path: str | Path, usage: str = "PrivateTest", limit: int | None = None) -> tuple[np.ndarray, list[str]]:
    """Kaggle FER2013 CSV (plain or .gz) -> (N, 48, 48) uint8 faces and their label names, one split only."""
    x, y = read_fer2013(path, (usage,), limit=limit)[usage]
    if not len(y):
        raise DataError(f"{path}: no {usage} rows")
    return x, [FACE_LABELS[i] for i in y]


def emodb_files(folder: str | Path, limit: int | None = None) -> Iterator[tuple[Path, str]]:
    """Emo-DB `SSTTTEV.wav` files -> (path, project label from the emotion letter E)."""
    utts = read_emodb(folder)
    for u in utts[:limit] if limit else utts:
        yield u.path, u.label
