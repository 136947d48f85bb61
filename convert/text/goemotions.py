"""GoEmotions (Demszky et al., ACL 2020) read from its TSV files, labels grouped onto the face labels (Ekman)."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from edge.labels import FACE_LABELS

# The paper's Ekman grouping of the 27 categories (the dataset README); neutral stays neutral.
EKMAN = {
    "angry": ("anger", "annoyance", "disapproval"),
    "disgust": ("disgust",),
    "fear": ("fear", "nervousness"),
    "happy": ("joy", "amusement", "approval", "excitement", "gratitude", "love", "optimism", "relief", "pride",
              "admiration", "desire", "caring"),
    "sad": ("sadness", "disappointment", "embarrassment", "grief", "remorse"),
    "surprise": ("surprise", "realization", "confusion", "curiosity"),
    "neutral": ("neutral",),
}
SPLITS = ("train", "dev", "test")


@dataclass(frozen=True)
class Split:
    texts: list[str]
    y: np.ndarray  # (rows, 7) multi-hot over FACE_LABELS
    fine: np.ndarray  # (rows, 28) multi-hot over the GoEmotions categories (labels.txt order)

    def __len__(self) -> int:
        return len(self.texts)

    @property
    def single(self) -> np.ndarray:
        """Rows with exactly one grouped label (where accuracy is defined)."""
        return self.y.sum(axis=1) == 1


def category_map(labels_txt: Path) -> dict[int, int]:
    """GoEmotions category id (line of labels.txt) -> index in FACE_LABELS."""
    names = labels_txt.read_text().split()
    group = {c: FACE_LABELS.index(face) for face, cats in EKMAN.items() for c in cats}
    missing = [n for n in names if n not in group]
    if missing or len(names) != 28:
        raise ValueError(f"{labels_txt}: expected the 28 GoEmotions categories, unmapped: {missing}")
    return {i: group[n] for i, n in enumerate(names)}


def grouping(folder: str | Path) -> np.ndarray:
    """(28, 7) 0/1 matrix: category -> its face label (probabilities over categories @ it = over face labels)."""
    cmap = category_map(Path(folder) / "labels.txt")
    g = np.zeros((len(cmap), len(FACE_LABELS)), np.float32)
    g[list(cmap), list(cmap.values())] = 1.0
    return g


def load(folder: str | Path, splits: tuple[str, ...] = SPLITS) -> dict[str, Split]:
    folder = Path(folder)
    if not (folder / "labels.txt").is_file():
        raise SystemExit(f"{folder}: no GoEmotions here (expected labels.txt and train/dev/test.tsv; "
                         "see ../shared/datasets/README.md)")
    cmap = category_map(folder / "labels.txt")
    out = {}
    for s in splits:
        texts, rows, fine = [], [], []
        with open(folder / f"{s}.tsv", newline="", encoding="utf-8") as f:
            for r in csv.DictReader(f, delimiter="\t", quoting=csv.QUOTE_NONE):
                cats = [int(i) for i in r["label"].split(",")]
                y = np.zeros(len(FACE_LABELS), np.float32)
                y[[cmap[i] for i in cats]] = 1.0
                yf = np.zeros(len(cmap), np.float32)
                yf[cats] = 1.0
                texts.append(r["text"])
                rows.append(y)
                fine.append(yf)
        out[s] = Split(texts, np.stack(rows), np.stack(fine))
    return out
