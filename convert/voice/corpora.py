"""Speech-emotion corpora for training: Emo-DB (WAV, German), RAVDESS (FLAC, English), nEMO (Opus, Polish).

Each corpus keeps its own emotions here (RAVDESS has calm and surprised, Emo-DB bored, nEMO surprised),
under the shared names (nEMO's anger/happiness/sadness/surprised read as angry/happy/sad/surprise);
`load_corpora` maps them onto the model's labels (VOICE_SOURCE_MAP in edge/labels.py, or train --map overrides).
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from edge.audio.resample import resample
from edge.audio.wav import read_wav, to_mono
from edge.bench.datasets import DatasetError, DatasetMissing, Utterance, read_emodb
from edge.labels import VOICE_LABELS, VOICE_SOURCE_MAP

# RAVDESS: modality-channel-emotion-intensity-statement-repetition-actor; 03 = audio only, 01 = speech.
RAVDESS_NAME = re.compile(r"^(\d\d)-(\d\d)-(\d\d)-(\d\d)-(\d\d)-(\d\d)-(\d\d)\.(wav|flac)$")
RAVDESS_EMOTIONS = {"01": "neutral", "02": "calm", "03": "happy", "04": "sad", "05": "angry", "06": "fear",
                    "07": "disgust", "08": "surprise"}


def load_emodb(root: str | Path) -> list[Utterance]:
    """All Emo-DB utterances under root (its wav/ folder or the folder holding it), sorted by name."""
    return read_emodb(root)


def load_ravdess(root: str | Path) -> list[Utterance]:
    """RAVDESS speech files (Actor_XX/03-01-EE-II-SS-RR-AA.flac or .wav), speaker 'rXX', sorted by name.

    Song files (channel 02) are skipped; `text` holds intensity and statement (e.g. 'i2s1').
    """
    root = Path(root)
    files = sorted(p for p in root.glob("Actor_*/*") if p.suffix in (".flac", ".wav"))
    if not files:
        raise DatasetMissing(f"{root}: no Actor_XX/*.flac or *.wav files (RAVDESS layout)")
    out = []
    for p in files:
        m = RAVDESS_NAME.match(p.name)
        if not m:
            raise DatasetError(f"{p}: name does not follow RAVDESS's MM-CC-EE-II-SS-RR-AA.flac")
        _, channel, emotion, intensity, statement, _, actor, _ = m.groups()
        if channel != "01" or emotion not in RAVDESS_EMOTIONS:  # 02 = song
            continue
        out.append(Utterance(p, "r" + actor, RAVDESS_EMOTIONS[emotion], f"i{intensity[1]}s{statement[1]}",
                             corpus="ravdess"))
    return out


# nEMO's data.tsv names -> the names the other corpora use (edge/labels.py VOICE_SOURCE_MAP maps them on).
NEMO_EMOTIONS = {"anger": "angry", "fear": "fear", "happiness": "happy", "neutral": "neutral", "sadness": "sad",
                 "surprised": "surprise"}


def load_nemo(root: str | Path) -> list[Utterance]:
    """nEMO utterances listed in data.tsv (file_id, emotion, ..., speaker_id), read from <speaker>/<name>.ogg;
    speaker 'n' + the actor code (e.g. 'nEB0'), sorted by name; `text` holds the sentence."""
    root = Path(root)
    table = root / "data.tsv"
    if not table.exists():
        raise DatasetMissing(f"{root}: no data.tsv (nEMO layout: data.tsv and <speaker>/<file>.ogg)")
    out = []
    lines = table.read_text(encoding="utf-8").splitlines()
    head = lines[0].split("\t")
    col = {name: head.index(name) for name in ("file_id", "emotion", "raw_text", "speaker_id")}
    for line in lines[1:]:
        f = line.split("\t")
        if len(f) < len(head):
            continue
        speaker, emotion = f[col["speaker_id"]].strip(), f[col["emotion"]].strip()
        if emotion not in NEMO_EMOTIONS:
            raise DatasetError(f"{table}: unknown nEMO emotion {emotion!r}")
        p = root / speaker / (Path(f[col["file_id"]].strip()).stem + ".ogg")
        if not p.exists():
            raise DatasetMissing(f"{p}: listed in data.tsv but missing")
        out.append(Utterance(p, "n" + speaker, NEMO_EMOTIONS[emotion], f[col["raw_text"]], corpus="nemo"))
    return sorted(out, key=lambda u: u.path.name)


def load_audio(path: str | Path, rate: int) -> np.ndarray:
    """A WAV, FLAC or Ogg/Opus file -> mono float32 at `rate` (FLAC and Opus through soundfile, a workstation-only
    package; Opus needs libsndfile 1.1+)."""
    path = Path(path)
    if path.suffix.lower() in (".flac", ".ogg", ".opus"):
        import soundfile

        x, sr = soundfile.read(str(path), dtype="float32", always_2d=True)
    else:
        x, sr = read_wav(path)
    return resample(to_mono(x), sr, rate)


def load_corpora(emodb: Path, ravdess: Path, mapping: dict[str, str | None] = VOICE_SOURCE_MAP,
                 labels: tuple[str, ...] = VOICE_LABELS,
                 nemo: Path | None = None) -> tuple[list[Utterance], np.ndarray]:
    """Every utterance of the corpora and its model label index (-1: not trained on, e.g. RAVDESS calm)."""
    utts = load_emodb(emodb) + load_ravdess(ravdess) + (load_nemo(nemo) if nemo else [])
    y = np.array([labels.index(mapping[u.label]) if mapping.get(u.label) else -1 for u in utts])
    return utts, y
