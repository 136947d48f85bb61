"""Readers of the labelled sets both sides need: the FER2013 CSV, CK+48's crops and Emo-DB file names.

numpy and the standard library only: the device's accuracy gate (edge-bench) reads them with
edge/ alone, and convert/ builds its training loaders on the same code.
"""

from __future__ import annotations

import csv
import gzip
import io
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..labels import EMODB_LETTERS, FACE_LABELS, VOICE_LABELS

FER_SIZE = 48  # FER2013 faces are 48x48 grayscale
FER_SPLITS = ("Training", "PublicTest", "PrivateTest")
# Emo-DB: SSTTTEV.wav, e.g. 03a01Wa.wav = speaker 03, text a01, emotion W (anger), version a.
EMODB_NAME = re.compile(r"^(\d\d)([a-z]\d\d)([A-Z])([a-z])\.wav$")
# CK+48: <class>/S###_###_########.png (subject, sequence, frame); contempt has no face label (None).
CKPLUS_CLASSES = {"anger": "angry", "disgust": "disgust", "fear": "fear", "happy": "happy", "sadness": "sad",
                  "surprise": "surprise", "contempt": None}
CKPLUS_NAME = re.compile(r"^S(\d{3})_\d{3}_\d{8}\.png$")
# The subject split `train-face --ckplus` learns from and face_ckplus.py reports on the rest of: even subject
# numbers train, odd ones test (60 + 58 of 118 subjects, 495 + 432 labelled crops). A sequence's frames are near
# copies: never split by file.
CKPLUS_HALVES = ("train", "test")


class DatasetError(ValueError):
    """A dataset file or folder is malformed; the message names the file (and row)."""


class DatasetMissing(DatasetError, FileNotFoundError):
    """A dataset file or folder is not there."""


def _open_text(path: Path) -> io.TextIOBase:
    if path.suffix == ".gz":
        return io.TextIOWrapper(gzip.open(path, "rb"), encoding="utf-8", newline="")
    return open(path, encoding="utf-8", newline="")


def read_fer2013(path: str | Path, splits: tuple[str, ...] = FER_SPLITS, pick: dict[str, set[int]] | None = None,
                 limit: int | None = None) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Kaggle `emotion,pixels,Usage` CSV (plain or .gz) -> {Usage: ((N, 48, 48) uint8, (N,) int64 labels)}.

    `pick`: per split, the positions within that split to keep; `limit`: stop after this many kept rows.
    Rows of other splits are not parsed. A bad row raises DatasetError naming the file and row.
    """
    path = Path(path)
    if not path.is_file():
        raise DatasetMissing(f"{path}: FER2013 CSV not found (expected the Kaggle fer2013.csv or .csv.gz)")
    xs: dict[str, list[np.ndarray]] = {s: [] for s in splits}
    ys: dict[str, list[int]] = {s: [] for s in splits}
    seen = dict.fromkeys(FER_SPLITS, -1)
    kept = 0
    with _open_text(path) as f:
        reader = csv.reader(f)
        header = next(reader, None)
        if header is None or [h.strip() for h in header[:3]] != ["emotion", "pixels", "Usage"]:
            raise DatasetError(f"{path}: row 1: header {header} is not emotion,pixels,Usage: not a FER2013 CSV")
        for row_no, row in enumerate(reader, start=2):  # row 1 is the header
            if len(row) != 3:
                raise DatasetError(f"{path}: row {row_no}: {len(row)} fields, expected 3 (emotion,pixels,Usage)")
            emotion, pixels, usage = row
            if usage not in FER_SPLITS:
                raise DatasetError(f"{path}: row {row_no}: Usage {usage!r} is not one of {', '.join(FER_SPLITS)}")
            seen[usage] += 1
            if usage not in xs or (pick is not None and seen[usage] not in pick.get(usage, ())):
                continue
            try:
                label = int(emotion)
                img = np.array(pixels.split(), dtype=np.int32)
            except ValueError as e:
                raise DatasetError(f"{path}: row {row_no}: not a number ({e})") from None
            if not 0 <= label < len(FACE_LABELS):
                raise DatasetError(f"{path}: row {row_no}: emotion {label} outside 0..{len(FACE_LABELS) - 1}")
            if img.size != FER_SIZE * FER_SIZE or img.min() < 0 or img.max() > 255:
                raise DatasetError(f"{path}: row {row_no}: pixels must be {FER_SIZE * FER_SIZE} values in 0..255, "
                                   f"got {img.size}")
            xs[usage].append(img.astype(np.uint8).reshape(FER_SIZE, FER_SIZE))
            ys[usage].append(label)
            kept += 1
            if limit and kept >= limit:
                break
    return {s: (np.stack(xs[s]) if xs[s] else np.zeros((0, FER_SIZE, FER_SIZE), np.uint8),
                np.array(ys[s], dtype=np.int64)) for s in splits}


@dataclass(frozen=True)
class Utterance:
    path: Path
    speaker: str
    label: str
    text: str = ""
    corpus: str = "emodb"

    @property
    def label_index(self) -> int:
        return VOICE_LABELS.index(self.label)


def ckplus_half(subject: int) -> str:
    return CKPLUS_HALVES[subject % 2]


def read_ckplus(root: str | Path, half: str | None = None) -> tuple[np.ndarray, list[str | None], np.ndarray]:
    """CK+48 crops -> ((N, 48, 48) uint8, face label or None for contempt, subject numbers); `half`: "train" or
    "test" subjects only (None: all). An unreadable image is reported on stderr by name and skipped."""
    import sys

    import cv2

    root = Path(root)
    if not root.is_dir():
        raise DatasetMissing(f"CK+48 folder {root} not found (expected <class>/S###_###_########.png, "
                             "../shared/datasets/README.md)")
    if half is not None and half not in CKPLUS_HALVES:
        raise ValueError(f"CK+48 half {half!r}: choose {' or '.join(CKPLUS_HALVES)}")
    faces, labels, subjects = [], [], []
    for name, label in CKPLUS_CLASSES.items():
        for path in sorted((root / name).glob("*.png")):
            m = CKPLUS_NAME.match(path.name)
            if not m:
                raise DatasetError(f"{path}: not a CK+48 name (S###_###_########.png)")
            subject = int(m.group(1))
            if half is not None and ckplus_half(subject) != half:
                continue
            img = cv2.imread(str(path), cv2.IMREAD_GRAYSCALE)
            if img is None:
                print(f"{path}: not a readable image, skipped", file=sys.stderr)
                continue
            if img.shape != (FER_SIZE, FER_SIZE):
                img = cv2.resize(img, (FER_SIZE, FER_SIZE), interpolation=cv2.INTER_AREA)
            faces.append(img)
            labels.append(label)
            subjects.append(subject)
    if not faces:
        raise DatasetMissing(f"{root}: no CK+48 crops{'' if half is None else ' of the ' + half + ' subjects'}")
    return np.stack(faces), labels, np.array(subjects)


def read_emodb(root: str | Path) -> list[Utterance]:
    """All Emo-DB utterances under root (its wav/ folder or the folder holding it), sorted by name."""
    root = Path(root)
    folder = root / "wav" if (root / "wav").is_dir() else root
    if not folder.is_dir():
        raise DatasetMissing(f"Emo-DB folder {root} not found (expected SSTTTEV.wav files, e.g. 03a01Wa.wav)")
    out, odd = [], []
    for p in sorted(folder.glob("*.wav")):
        m = EMODB_NAME.match(p.name)
        if not m or m.group(3) not in EMODB_LETTERS:
            odd.append(p.name)
            continue
        out.append(Utterance(p, m.group(1), EMODB_LETTERS[m.group(3)], m.group(2)))
    if odd:
        raise DatasetError(f"{folder}: {len(odd)} file names do not follow Emo-DB's SSTTTEV.wav "
                           f"(not an Emo-DB name), e.g. {odd[0]}")
    if not out:
        raise DatasetMissing(f"{folder}: no Emo-DB .wav files (no .wav files; give the Emo-DB wav/ folder)")
    return out
