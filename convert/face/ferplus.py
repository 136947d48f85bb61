"""FER+ votes (Barsoum et al. 2016): ten annotators' labels for every FER2013 row, as targets and as the judge.

`ferplus.csv` holds one row per row of `fer2013.csv.gz`, in the same order, with the vote counts for neutral,
happiness, surprise, sadness, anger, disgust, fear, contempt, unknown and NF (not a face). The face model keeps
the seven face labels: contempt has no face label (and no voice or text label to fuse with), so its votes are
left out and the rest renormalised; a row with no vote on the seven labels (all contempt, unknown or NF) carries
no target and is dropped from training. The majority label, used to judge, is the top of the seven votes when it
is strictly ahead of every other vote including contempt, unknown and NF (the issue's protocol: rows whose top
vote is contempt, unknown, not-a-face, or tied are left out).
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

from edge.bench.datasets import FER_SPLITS, DatasetError
from edge.labels import FACE_LABELS

# FER+ column -> face label (contempt, unknown and NF have none)
COLUMNS = {"anger": "angry", "disgust": "disgust", "fear": "fear", "happiness": "happy", "sadness": "sad",
           "surprise": "surprise", "neutral": "neutral"}
OTHER = ("contempt", "unknown", "NF")
NO_MAJORITY = -1


def load_votes(path: str | Path) -> dict[str, np.ndarray]:
    """{Usage: (N, 10) int votes}: the seven face labels in FACE_LABELS order, then contempt, unknown, NF."""
    path = Path(path)
    if not path.is_file():
        raise DatasetError(f"{path}: FER+ votes not found (../shared/datasets/fer2013/ferplus.csv)")
    order = [next(k for k, v in COLUMNS.items() if v == label) for label in FACE_LABELS] + list(OTHER)
    rows: dict[str, list[list[int]]] = {s: [] for s in FER_SPLITS}
    with open(path, newline="", encoding="utf-8") as f:
        reader = csv.DictReader(f)
        missing = [c for c in order + ["Usage"] if c not in (reader.fieldnames or [])]
        if missing:
            raise DatasetError(f"{path}: row 1: columns {missing} missing: not the FER+ votes file")
        for row_no, row in enumerate(reader, start=2):
            if row["Usage"] not in rows:
                raise DatasetError(f"{path}: row {row_no}: Usage {row['Usage']!r} is not one of {', '.join(FER_SPLITS)}")
            rows[row["Usage"]].append([int(row[c]) for c in order])
    return {s: np.asarray(v, np.int64).reshape(-1, len(order)) for s, v in rows.items()}


def shares(votes: np.ndarray) -> np.ndarray:
    """(N, 7) float32 vote shares over the seven face labels (contempt, unknown, NF left out); zero rows stay 0."""
    seven = votes[:, :len(FACE_LABELS)].astype(np.float32)
    return seven / np.maximum(seven.sum(1, keepdims=True), 1.0)


def majority(votes: np.ndarray) -> np.ndarray:
    """(N,) label index of the strict majority among all ten columns, NO_MAJORITY when it is not a face label."""
    top = votes.max(1, keepdims=True)
    unique = (votes == top).sum(1) == 1
    best = votes.argmax(1)
    return np.where(unique & (best < len(FACE_LABELS)) & (top[:, 0] > 0), best, NO_MAJORITY)


def check_rows(votes: np.ndarray, n: int, split: str, path: str | Path) -> None:
    if len(votes) != n:
        raise DatasetError(f"{path}: {len(votes)} {split} rows, the FER2013 CSV has {n}: the two files must be the "
                           "same release (shared/datasets/fer2013 holds a matching pair)")
