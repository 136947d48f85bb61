"""What quantize and validate need to know about the face model: its data, calibration set and description."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from edge.labels import FACE_LABELS
from edge.classify.face_preprocess import FACE_PREPROCESS, pixels_to_input

from .fer2013 import Split, load

TRAINING_DATA = {
    "dataset": "FER2013 (Kaggle ICML 2013 challenge CSV), original pixels, with the FER+ votes (Barsoum et al. 2016)",
    "splits": {"train": "Training (28,558)", "selection": "PublicTest (3,579)", "report": "PrivateTest (3,573)"},
    "licence": "research / non-commercial use only (FER2013 terms)",
    "citation": "Goodfellow et al., Challenges in Representation Learning: A report on three machine learning contests, 2013",
}


def calibration(data: str | Path, n: int, seed: int = 0, spec: dict[str, Any] | None = None) -> np.ndarray:
    """`n` random Training faces, preprocessed exactly as in training (aligned when `spec` aligns)."""
    train = load(data, splits=("Training",))["Training"]
    idx = np.sort(np.random.default_rng(seed).choice(len(train), min(n, len(train)), replace=False))
    spec = unaligned() if spec is None else spec
    return pixels_to_input(prepared(train.x[idx], spec), spec)


def unaligned() -> dict[str, Any]:
    """FACE_PREPROCESS without keypoint alignment (box + margin crops, as version 1 was trained)."""
    return {k: v for k, v in FACE_PREPROCESS.items() if k != "align"}


def preprocess_path(model: str | Path) -> Path:
    """`runs/face/face.keras` -> `runs/face/face.preprocess.json`: how that model's training faces were prepared."""
    return Path(model).with_suffix(".preprocess.json")


def write_preprocess(model: str | Path, spec: dict[str, Any]) -> Path:
    path = preprocess_path(model)
    path.write_text(json.dumps(spec, indent=1) + "\n")
    return path


def preprocess_of(model: str | Path) -> dict[str, Any]:
    """The preprocessing a .keras model was trained with (written by train-face); unaligned when none is recorded."""
    path = preprocess_path(model)
    return json.loads(path.read_text()) if path.is_file() else unaligned()


def prepared(faces: np.ndarray, spec: dict[str, Any], cache: Path | None = None) -> np.ndarray:
    """48x48 FER2013 faces as the model sees them: aligned on BlazeFace keypoints when its spec says so."""
    if "align" not in spec:
        return faces
    from edge.classify.face_preprocess import align_cut_faces

    from .align import cached_keypoints, keypoints

    kps = cached_keypoints(faces, cache) if cache is not None else keypoints(faces)
    return align_cut_faces(faces, kps, spec)


def labels(data: str | Path, split: str) -> np.ndarray:
    return load(data, splits=(split,))[split].y


def with_ferplus(s: Split, split: str, ferplus: str | Path | None) -> Split:
    """The split judged by the FER+ majority vote (rows without one left out), or as it is when `ferplus` is None."""
    if not ferplus:
        return s
    from . import ferplus as fp

    votes = fp.load_votes(ferplus)[split]
    fp.check_rows(votes, len(s), split, ferplus)
    major = fp.majority(votes)
    keep = np.flatnonzero(major >= 0)
    return Split(s.x[keep], major[keep])


def ferplus_prior(ferplus: str | Path) -> np.ndarray:
    """The class mix a model trained on the FER+ vote shares learns: the mean share over Training."""
    from . import ferplus as fp

    shares = fp.shares(fp.load_votes(ferplus)["Training"])
    prior = shares[shares.sum(1) > 0].mean(0)
    return prior / prior.sum()


def evaluation(data: str | Path, split: str = "PrivateTest", spec: dict[str, Any] | None = None,
               cache: Path | None = None, ferplus: str | Path | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Preprocessed faces and labels of one split (PrivateTest: the reported one), prepared as `spec` says;
    with `ferplus`, labelled by the FER+ majority vote (rows without one left out)."""
    s = with_ferplus(load(data, splits=(split,))[split], split, ferplus)
    spec = unaligned() if spec is None else spec
    return pixels_to_input(prepared(s.x, spec, cache), spec), s.y


def description(version: str, mirror_average: bool, metrics: dict[str, Any] | None = None,
                spec: dict[str, Any] | None = None) -> dict[str, Any]:
    """The caller-given part of every face artifact's sidecar."""
    d: dict[str, Any] = {
        "name": "face", "task": "face", "version": version, "labels": list(FACE_LABELS),
        "preprocess": dict(unaligned() if spec is None else spec), "training_data": TRAINING_DATA,
        "graph": {"mirror_average": mirror_average},  # flip test-time averaging is inside the model when true
    }
    if metrics:
        d["metrics"] = metrics
    return d
