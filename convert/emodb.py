"""Speech-emotion corpora: Emo-DB (file name = speaker, text, emotion, version) and RAVDESS (Actor_XX folders)."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from edge.audio.resample import resample
from edge.audio.wav import read_wav, to_mono
from edge.datasets import Utterance, read_emodb

# RAVDESS: modality-channel-emotion-intensity-statement-repetition-actor; 03 = audio only, 01 = speech.
RAVDESS_NAME = re.compile(r"^(\d\d)-(\d\d)-(\d\d)-(\d\d)-(\d\d)-(\d\d)-(\d\d)\.wav$")
# RAVDESS emotion codes -> project labels; 02 calm and 08 surprised have no voice label and are skipped.
RAVDESS_EMOTIONS = {"01": "neutral", "03": "happy", "04": "sad", "05": "angry", "06": "fear", "07": "disgust"}


def load_emodb(root: str | Path) -> list[Utterance]:
    """All Emo-DB utterances under root (its wav/ folder or the folder holding it), sorted by name."""
    return read_emodb(root)


def load_ravdess(root: str | Path) -> list[Utterance]:
    """RAVDESS speech files (Actor_XX/03-01-EE-II-SS-RR-AA.wav) whose emotion has a voice label."""
    root = Path(root)
    files = sorted(root.glob("Actor_*/*.wav"))
    if not files:
        raise FileNotFoundError(f"{root}: no Actor_XX/*.wav files (RAVDESS layout)")
    out = []
    for p in files:
        m = RAVDESS_NAME.match(p.name)
        if not m:
            raise ValueError(f"{p}: name does not follow RAVDESS's MM-CC-EE-II-SS-RR-AA.wav")
        modality, channel, emotion, _, statement, _, actor = m.groups()
        if channel != "01" or emotion not in RAVDESS_EMOTIONS:  # 02 = song; calm/surprised have no voice label
            continue
        out.append(Utterance(p, actor, RAVDESS_EMOTIONS[emotion], statement))
    return out


def load_audio(path: str | Path, rate: int) -> np.ndarray:
    """Any WAV -> mono float32 at `rate`."""
    x, sr = read_wav(path)
    return resample(to_mono(x), sr, rate)
