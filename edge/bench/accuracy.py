"""The flashing gate: accuracy of the face (FER2013 PrivateTest) or voice (Emo-DB) models against a floor."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from edge.bench.datasets import read_emodb
from edge.description import ModelDescription

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
    from edge.classify.face import FaceClassifier

    from edge.classify.face_preprocess import prepare_cut_faces

    faces, truth = fer2013_split(data, limit=limit)
    clf = FaceClassifier(path, prior="training")  # PrivateTest has FER2013's own class mix
    faces = prepare_cut_faces(faces, clf.spec)  # an aligned model sees the faces aligned, as in its validation
    pred = []
    for i in range(0, len(faces), BATCH):
        probs = clf.predict(clf.preprocess(list(faces[i:i + BATCH])))
        pred += [clf.labels[j] for j in probs.argmax(1)]
    return _scores(pred, truth)


def trained_speakers(path: Path) -> set[str] | None:
    """The Emo-DB speakers the model trained on, from its sidecar's `training` (None: the sidecar does not say).

    Emo-DB speakers are listed as their two digits ("03"), RAVDESS actors as "r01"; a model that did not train on
    Emo-DB trained on none of its speakers.
    """
    raw = ModelDescription.load(path).raw
    training = raw.get("training") or raw.get("training_data") or {}
    if not isinstance(training, dict) or "speakers" not in training:
        return None
    if "emodb" not in [str(c).lower() for c in training.get("corpora", ["emodb"])]:
        return set()
    return {str(s) for s in training["speakers"] if str(s).isdigit()}


def held_out_files(path: Path, data: Path, limit: int | None,
                   quiet: bool = False) -> tuple[list[tuple[Path, str]], dict[str, Any]]:
    """The Emo-DB files of speakers the model did not train on, and what was left out; refuses when none remain.

    A model scored on its own training speakers reads as near-perfect (the shipped voice model: 1.000 on the
    Emo-DB copy it trained on), which says nothing about a new voice.
    """
    utts = read_emodb(data)
    trained = trained_speakers(path)
    if trained is None and not quiet:
        logger.warning("%s: its sidecar does not say which speakers trained it (training.speakers): the accuracy "
                       "may include speakers it learned", path.name)
    trained = trained or set()
    kept = [u for u in utts if u.speaker not in trained]
    left = sorted({u.speaker for u in utts} & trained)
    if not kept:
        raise SystemExit(f"edge-bench: --accuracy {data}: every speaker in it ({', '.join(left)}) trained "
                         f"{path.name} (its sidecar's training.speakers), so its score would say nothing about "
                         "new voices; give Emo-DB files of other speakers (held-out data)")
    if left and not quiet:
        logger.warning("%s: %d files of speaker(s) %s left out: the model trained on them", path.name,
                       len(utts) - len(kept), ", ".join(left))
    kept = kept[:limit] if limit else kept
    return [(u.path, u.label) for u in kept], {"speakers": sorted({u.speaker for u in kept}),
                                                "trained_speakers_left_out": left}


def voice_accuracy(path: Path, data: Path, limit: int | None, audio=None,
                   files: Sequence[tuple[Path, str]] | None = None) -> tuple[float, int, dict[str, float]]:
    """`audio`: the [audio] section whose speech gate `run` and `infer` use (default: the defaults); `files`:
    the (wav, label) pairs to score (default: every Emo-DB file in `data`)."""
    from edge.classify.voice import VoiceClassifier
    from edge.channels.base import gate_options
    from edge.config import AudioConfig

    clf = VoiceClassifier(path, **gate_options(audio or AudioConfig()))
    pred, truth = [], []
    for wav, label in files if files is not None else emodb_files(data, limit):
        pred.append(clf.classify_file(wav).emotion)  # each file is one utterance; None (no speech) counts as wrong
        truth.append(label)
    return _scores(pred, truth)


def _scores(pred: Sequence[str], truth: Sequence[str]) -> tuple[float, int, dict[str, float]]:
    """Accuracy and per-class recall (their mean is the unweighted average recall)."""
    hit = np.array([p == t for p, t in zip(pred, truth)])
    recall = {c: float(hit[[t == c for t in truth]].mean()) for c in sorted(set(truth))}
    return float(hit.mean()), len(truth), recall


def gated_models(paths: Sequence[str | Path], data: Path, limit: int | None = None) -> list[Artifact]:
    """The models `--accuracy DATA` scores, checked before the (long) latency runs: the data's kind has a model,
    and a voice model has held-out speakers in it."""
    kind = data_kind(data)
    models = [a for a in (Artifact.load(p) for p in paths) if a.task == kind]
    if not models:
        raise SystemExit(f"edge-bench: --accuracy {data} is {kind} data but no {kind} model was benchmarked; "
                         f"add --model PATH of a {kind} model")
    for art in models if kind == "voice" else ():
        try:
            held_out_files(art.path, data, limit, quiet=True)
        except ValueError as e:  # DataError: not an Emo-DB folder
            raise SystemExit(f"edge-bench: {e}") from None
    return models


def gate(paths: Sequence[str | Path], data: Path, floor: float | None, limit: int | None = None,
         audio=None) -> list[dict[str, Any]]:
    """One entry per model whose task matches the data; `passed` is False below the floor."""
    kind = data_kind(data)
    models = gated_models(paths, data, limit)
    out = []
    for art in models:
        split: dict[str, Any] = {"split": "PrivateTest"}
        try:
            if kind == "face":
                acc, n, recall = face_accuracy(art.path, data, limit)
            else:  # only speakers the model did not train on (or a refusal that says so)
                files, split = held_out_files(art.path, data, limit)
                acc, n, recall = voice_accuracy(art.path, data, limit, audio, files=files)
                split = {"split": "speakers not in training", **split}
        except ValueError as e:  # DataError, an unreadable WAV file, a model that does not match its description
            raise SystemExit(f"edge-bench: {e}") from None
        passed = floor is None or acc >= floor
        out.append({"model": art.path.name, "task": art.task, "data": str(data), **split,
                    "n": n, "accuracy": acc, "uar": float(np.mean(list(recall.values()))), "recall": recall,
                    "floor": floor, "passed": passed})
        logger.info("%s: accuracy %.4f on %d samples", art.path.name, acc, n)
    return out
