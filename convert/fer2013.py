"""FER2013 loaders: the Kaggle CSV (plain or .gz) and the image-folder layout."""

from __future__ import annotations

import csv
import gzip
import io
import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from edge.labels import FACE_LABELS

logger = logging.getLogger(__name__)

SIZE = 48  # FER2013 faces are 48x48 grayscale
SPLITS = ("Training", "PublicTest", "PrivateTest")
# image-folder split name -> the CSV's Usage name
FOLDER_SPLITS = {"train": "Training", "val": "PublicTest", "test": "PrivateTest"}
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".pgm")


class DatasetError(ValueError):
    """The dataset file or folder is missing or malformed."""


@dataclass(frozen=True)
class Split:
    """One split: (N, 48, 48) uint8 faces and (N,) int labels in FACE_LABELS order."""

    x: np.ndarray
    y: np.ndarray

    def __len__(self) -> int:
        return len(self.y)

    def take(self, idx: np.ndarray) -> "Split":
        return Split(self.x[idx], self.y[idx])


def _open_text(path: Path) -> io.TextIOBase:
    if path.suffix == ".gz":
        return io.TextIOWrapper(gzip.open(path, "rb"), encoding="utf-8", newline="")
    return open(path, encoding="utf-8", newline="")


def load_csv(path: str | Path, splits: tuple[str, ...] = SPLITS, pick: dict[str, set[int]] | None = None) -> dict[str, Split]:
    """Kaggle `emotion,pixels,Usage` CSV -> {Usage: Split}; an error names the file and row of a bad line.

    `pick`: per split, the positions within that split to keep (the others are not parsed).
    """
    path = Path(path)
    if not path.is_file():
        raise DatasetError(f"{path}: FER2013 CSV not found (expected the Kaggle fer2013.csv or .csv.gz)")
    xs: dict[str, list[np.ndarray]] = {s: [] for s in splits}
    ys: dict[str, list[int]] = {s: [] for s in splits}
    seen = dict.fromkeys(SPLITS, -1)
    with _open_text(path) as f:
        reader = csv.reader(f)
        header = next(reader, None)
        if header is None or [h.strip() for h in header[:3]] != ["emotion", "pixels", "Usage"]:
            raise DatasetError(f"{path}: row 1: header {header} is not emotion,pixels,Usage")
        for row_no, row in enumerate(reader, start=2):  # row 1 is the header
            if len(row) != 3:
                raise DatasetError(f"{path}: row {row_no}: {len(row)} fields, expected 3 (emotion,pixels,Usage)")
            emotion, pixels, usage = row
            if usage not in SPLITS:
                raise DatasetError(f"{path}: row {row_no}: Usage {usage!r} is not one of {', '.join(SPLITS)}")
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
            if img.size != SIZE * SIZE or img.min() < 0 or img.max() > 255:
                raise DatasetError(f"{path}: row {row_no}: pixels must be {SIZE * SIZE} values in 0..255, got {img.size}")
            xs[usage].append(img.astype(np.uint8).reshape(SIZE, SIZE))
            ys[usage].append(label)
    out = {}
    for s in splits:
        x = np.stack(xs[s]) if xs[s] else np.zeros((0, SIZE, SIZE), np.uint8)
        out[s] = Split(x, np.array(ys[s], dtype=np.int64))
        logger.info("%s: %s %d faces", path.name, s, len(out[s]))
    return out


def load_folder(root: str | Path) -> dict[str, Split]:
    """`train/<label>/*.jpg`, `test/<label>/*.jpg`, optional `val/` -> {Usage: Split}; images resized to 48x48 gray."""
    import cv2  # only this loader needs image decoding

    root = Path(root)
    if not (root / "train").is_dir():
        raise DatasetError(f"{root}: no train/ folder (expected train/<label>/*.jpg and test/<label>/*.jpg)")
    out = {}
    for folder, usage in FOLDER_SPLITS.items():
        if not (root / folder).is_dir():
            continue
        unknown = sorted(p.name for p in (root / folder).iterdir() if p.is_dir() and p.name not in FACE_LABELS)
        if unknown:
            raise DatasetError(f"{root / folder}: label folders {unknown} are not in {', '.join(FACE_LABELS)}")
        xs, ys = [], []
        for label, name in enumerate(FACE_LABELS):
            for p in sorted((root / folder / name).glob("*")):
                if p.suffix.lower() not in IMAGE_SUFFIXES:
                    continue
                img = cv2.imread(str(p), cv2.IMREAD_GRAYSCALE)
                if img is None:
                    raise DatasetError(f"{p}: not a readable image")
                if img.shape != (SIZE, SIZE):
                    img = cv2.resize(img, (SIZE, SIZE), interpolation=cv2.INTER_AREA)
                xs.append(img)
                ys.append(label)
        out[usage] = Split(np.stack(xs) if xs else np.zeros((0, SIZE, SIZE), np.uint8), np.array(ys, dtype=np.int64))
        logger.info("%s: %s %d faces", root, usage, len(ys))
    if "PrivateTest" not in out:
        raise DatasetError(f"{root}: no test/ folder")
    return out


def save_npz(data: dict[str, Split], path: str | Path) -> Path:
    """Compact copy of the splits: each face as lossless WebP (about 20% smaller than compressed raw pixels)."""
    import cv2

    arrays = {}
    for s, d in data.items():
        blobs = [cv2.imencode(".webp", img, [cv2.IMWRITE_WEBP_QUALITY, 101])[1].tobytes() for img in d.x]  # 101: lossless
        arrays[f"{s}_blob"] = np.frombuffer(b"".join(blobs), np.uint8)
        arrays[f"{s}_len"] = np.array([len(b) for b in blobs], np.int64)
        arrays[f"{s}_y"] = d.y.astype(np.uint8)
    np.savez(path, **arrays)
    return Path(path)


def load_npz(path: Path) -> dict[str, Split]:
    """Read a file written by save_npz."""
    import cv2

    out = {}
    with np.load(path) as z:
        for s in sorted({k.rsplit("_", 1)[0] for k in z.files}):
            blob, ends = z[f"{s}_blob"], np.cumsum(z[f"{s}_len"])
            x = np.zeros((len(ends), SIZE, SIZE), np.uint8)
            for i, (a, b) in enumerate(zip(np.r_[0, ends[:-1]], ends)):
                x[i] = cv2.imdecode(blob[a:b], cv2.IMREAD_GRAYSCALE)
            out[s] = Split(x, z[f"{s}_y"].astype(np.int64))
    return out


def load(path: str | Path, splits: tuple[str, ...] = SPLITS) -> dict[str, Split]:
    """Any supported layout: CSV(.gz), an image folder, or an .npz written by save_npz."""
    path = Path(path)
    if path.is_dir():
        data = load_folder(path)
    elif path.suffix == ".npz":
        data = load_npz(path)
    else:
        return load_csv(path, splits)
    return {s: d for s, d in data.items() if s in splits}
