"""The flashing gate: accuracy of the face (FER2013 PrivateTest) or voice (Emo-DB) models against a floor."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from .data import emodb_files, fer2013_split
from .models import Artifact

logger = logging.getLogger(__name__)
BATCH = 64  # faces per invoke: amortises the interpreter call without a large resize of the input tensor


def data_kind(data: Path) -> str:
    if data.is_dir():
        return "voice"
    if data.is_file() and data.name.endswith((".csv", ".csv.gz")):
        return "face"
    raise SystemExit(f"edge-bench: --accuracy {data}: give a FER2013 CSV (.csv or .csv.gz) or an Emo-DB wav/ folder")


def face_accuracy(path: Path, data: Path, limit: int | None) -> tuple[float, int, dict[str, float]]:
    from edge.classify import FaceClassifier

    from edge.preprocess import prepare_cut_faces

    faces, truth = fer2013_split(data, limit=limit)
    clf = FaceClassifier(path, prior="training")  # PrivateTest has FER2013's own class mix
    faces = prepare_cut_faces(faces, clf.spec)  # an aligned model sees the faces aligned, as in its validation
    pred = []
    for i in range(0, len(faces), BATCH):
        probs = clf.predict(clf.preprocess(list(faces[i:i + BATCH])))
        pred += [clf.labels[j] for j in probs.argmax(1)]
    return _scores(pred, truth)


def voice_accuracy(path: Path, data: Path, limit: int | None, audio=None) -> tuple[float, int, dict[str, float]]:
    """`audio`: the [audio] section whose speech gate `run` and `infer` use (default: the defaults)."""
    from edge.audio.voice import VoiceClassifier
    from edge.channels.base import gate_options
    from edge.config import AudioConfig

    clf = VoiceClassifier(path, **gate_options(audio or AudioConfig()))
    pred, truth = [], []
    for wav, label in emodb_files(data, limit):
        pred.append(clf.classify_file(wav).emotion)  # each file is one utterance; None (no speech) counts as wrong
        truth.append(label)
    return _scores(pred, truth)


def _scores(pred: Sequence[str], truth: Sequence[str]) -> tuple[float, int, dict[str, float]]:
    """Accuracy and per-class recall (their mean is the unweighted average recall)."""
    hit = np.array([p == t for p, t in zip(pred, truth)])
    recall = {c: float(hit[[t == c for t in truth]].mean()) for c in sorted(set(truth))}
    return float(hit.mean()), len(truth), recall


def gate(paths: Sequence[str | Path], data: Path, floor: float | None, limit: int | None = None,
         audio=None) -> list[dict[str, Any]]:
    """One entry per model whose task matches the data; `passed` is False below the floor."""
    kind = data_kind(data)
    models = [a for a in (Artifact.load(p) for p in paths) if a.task == kind]
    if not models:
        raise SystemExit(f"edge-bench: --accuracy {data} is {kind} data but no {kind} model was benchmarked; "
                         f"add --model PATH of a {kind} model")
    evaluate = face_accuracy if kind == "face" else voice_accuracy
    out = []
    for art in models:
        try:
            acc, n, recall = evaluate(art.path, data, limit) if kind == "face" else \
                evaluate(art.path, data, limit, audio)
        except ValueError as e:  # DataError, an unreadable WAV file, a model that does not match its description
            raise SystemExit(f"edge-bench: {e}") from None
        passed = floor is None or acc >= floor
        out.append({"model": art.path.name, "data": str(data), "split": "PrivateTest" if kind == "face" else "all",
                    "n": n, "accuracy": acc, "uar": float(np.mean(list(recall.values()))), "recall": recall,
                    "floor": floor, "passed": passed})
        logger.info("%s: accuracy %.4f on %d samples", art.path.name, acc, n)
    return out
