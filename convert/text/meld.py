"""MELD (Poria et al., ACL 2019): Friends dialogue lines with the face labels, read from its CSV files."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from edge.labels import FACE_LABELS

from .. import DATASETS

DEFAULT_MELD = DATASETS / "meld"
FILES = {"train": "train_sent_emo.csv", "dev": "dev_sent_emo.csv"}  # MELD's test split is held out: never read
EMOTION = {"anger": "angry", "disgust": "disgust", "fear": "fear", "joy": "happy", "sadness": "sad",
           "surprise": "surprise", "neutral": "neutral"}
# Quotes and dashes some lines hold as mis-decoded bytes (read with errors="replace"), back to ASCII.
_CLEAN = str.maketrans({"\ufffd": "'", "\u0092": "'", "\u0091": "'", "\u0093": '"', "\u0094": '"', "\u0097": "-",
                        "\u0096": "-", "\u0085": "..."})


@dataclass(frozen=True)
class Lines:
    texts: list[str]
    y: np.ndarray  # (rows, 7) one-hot over FACE_LABELS
    dialogue: np.ndarray  # dialogue id per line
    utterance: np.ndarray  # its position in the dialogue
    speaker: list[str]

    def __len__(self) -> int:
        return len(self.texts)

    def previous(self) -> np.ndarray:
        """The row of the line before each one in its dialogue (-1 for a dialogue's first line)."""
        at = {(d, u): i for i, (d, u) in enumerate(zip(self.dialogue, self.utterance))}
        return np.array([at.get((d, u - 1), -1) for d, u in zip(self.dialogue, self.utterance)])


def load(folder: str | Path = DEFAULT_MELD, splits: tuple[str, ...] = ("train", "dev")) -> dict[str, Lines]:
    folder = Path(folder)
    out = {}
    for s in splits:
        path = folder / FILES[s]
        if not path.is_file():
            raise SystemExit(f"{path}: no MELD here (see ../shared/datasets/README.md, section meld)")
        with open(path, newline="", encoding="utf-8", errors="replace") as f:
            rows = list(csv.DictReader(f))
        y = np.zeros((len(rows), len(FACE_LABELS)), np.float32)
        y[np.arange(len(rows)), [FACE_LABELS.index(EMOTION[r["Emotion"]]) for r in rows]] = 1.0
        out[s] = Lines([r["Utterance"].translate(_CLEAN).strip() for r in rows], y,
                       np.array([int(r["Dialogue_ID"]) for r in rows]), np.array([int(r["Utterance_ID"]) for r in rows]),
                       [r["Speaker"] for r in rows])
    return out
