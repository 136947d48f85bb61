"""Light readers for the gate's labelled sets, numpy only, so the gate runs where only edge/ is installed."""

from __future__ import annotations

import csv
import gzip
import io
from pathlib import Path
from typing import Iterator

import numpy as np

from edge.labels import EMODB_LETTERS, FACE_LABELS


class DataError(ValueError):
    """A labelled set that is missing or not in the expected layout."""


def fer2013_split(path: str | Path, usage: str = "PrivateTest", limit: int | None = None) -> tuple[np.ndarray, list[str]]:
    """Kaggle FER2013 CSV (plain or .gz) -> (N, 48, 48) uint8 faces and their label names, one split only."""
    p = Path(path)
    opener = (lambda: io.TextIOWrapper(gzip.open(p, "rb"), newline="")) if p.suffix == ".gz" else (lambda: open(p, newline=""))
    faces, labels = [], []
    with opener() as f:
        rows = csv.reader(f)
        if next(rows, [])[:3] != ["emotion", "pixels", "Usage"]:
            raise DataError(f"{p}: not a FER2013 CSV (first line must be emotion,pixels,Usage)")
        for n, row in enumerate(rows, start=2):
            if len(row) < 3 or row[2] != usage:  # other splits are skipped before any parsing
                continue
            px = np.array(row[1].split(), dtype=np.uint8)
            if px.size != 48 * 48 or not row[0].isdigit() or int(row[0]) >= len(FACE_LABELS):
                raise DataError(f"{p}: line {n}: expected emotion 0..6 and 2304 pixels")
            faces.append(px.reshape(48, 48))
            labels.append(FACE_LABELS[int(row[0])])
            if limit and len(labels) >= limit:
                break
    if not labels:
        raise DataError(f"{p}: no {usage} rows")
    return np.stack(faces), labels


def emodb_files(folder: str | Path, limit: int | None = None) -> Iterator[tuple[Path, str]]:
    """Emo-DB `SSTTTEV.wav` files -> (path, project label from the emotion letter E)."""
    files = sorted(Path(folder).glob("*.wav"))
    if not files:
        raise DataError(f"{folder}: no .wav files; give the Emo-DB wav/ folder")
    for f in files[:limit] if limit else files:
        letter = f.stem[5:6]
        if len(f.stem) != 7 or letter not in EMODB_LETTERS:
            raise DataError(f"{f.name}: not an Emo-DB name (SSTTTEV.wav with emotion letter in {''.join(EMODB_LETTERS)})")
        yield f, EMODB_LETTERS[letter]
