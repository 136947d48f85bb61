"""FER2013 loaders: the Kaggle CSV (plain or .gz) and the image-folder layout."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from edge.bench.datasets import FER_SIZE, FER_SPLITS, DatasetError, read_fer2013
from edge.labels import FACE_LABELS

__all__ = ["DatasetError", "SIZE", "SPLITS", "Split", "load", "load_csv", "load_folder", "load_npz", "save_npz"]

logger = logging.getLogger(__name__)

SIZE, SPLITS = FER_SIZE, FER_SPLITS
# image-folder split name -> the CSV's Usage name
FOLDER_SPLITS = {"train": "Training", "val": "PublicTest", "test": "PrivateTest"}
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".pgm")


@dataclass(frozen=True)
class Split:
    """One split: (N, 48, 48) uint8 faces and (N,) int labels in FACE_LABELS order."""

    x: np.ndarray
    y: np.ndarray

    def __len__(self) -> int:
        return len(self.y)

    def take(self, idx: np.ndarray) -> "Split":
        return Split(self.x[idx], self.y[idx])


def load_csv(path: str | Path, splits: tuple[str, ...] = SPLITS, pick: dict[str, set[int]] | None = None) -> dict[str, Split]:
    """Kaggle `emotion,pixels,Usage` CSV -> {Usage: Split}; an error names the file and row of a bad line.

    `pick`: per split, the positions within that split to keep (the others are not parsed).
    """
    out = {s: Split(x, y) for s, (x, y) in read_fer2013(path, splits, pick).items()}
    for s, d in out.items():
        logger.info("%s: %s %d faces", Path(path).name, s, len(d))
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


def cached_rows(path: Path, shape: tuple[int, ...], make: Callable[[], np.ndarray]) -> np.ndarray:
    """make(): an array with a row per face, computed once and kept in `path` (a resumed or repeated run reuses it);
    computed again when the file holds another shape (written for another copy of the data)."""
    if path.is_file():
        a = np.load(path)
        if a.shape == shape:
            logger.info("%s: reused", path)
            return a
        logger.warning("%s holds an array of %s, not %s: computing it again", path, a.shape, shape)
    a = make()
    np.save(path, a)
    return a
