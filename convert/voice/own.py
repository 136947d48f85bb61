"""A voice model of your own (`edge-convert quantize --task voice --front-end waveform|logmel`): its `preprocess`
from its input shape, and calibration windows cut from a folder of WAV files by the device's own gate and front end
(mono, the speech span, resampled to 16 kHz, windows of the input's size), so the int8 ranges are fitted on what
the device will feed the model."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import numpy as np

from edge.audio.frontend import FRONT_ENDS, open_front_end
from edge.audio.gate import GateSettings, gate_segment
from edge.audio.wav import WavError, invalid_samples, read_wav, to_mono

logger = logging.getLogger(__name__)


def wav_paths(folder: str | Path) -> list[Path]:
    """Every .wav file under `folder` (sub-folders included, e.g. one per label), sorted."""
    return sorted(p for p in Path(folder).rglob("*") if p.suffix.lower() == ".wav" and p.is_file())


def own_preprocess(front_end: str, input_shape: tuple, given: dict[str, float]) -> dict[str, Any]:
    """The sidecar's `preprocess` for a model taking `input_shape` (without the batch) through `front_end`."""
    if any(v is None for v in input_shape):
        raise ValueError(f"the model's input is {tuple(input_shape)} per window; a voice model of your own takes a "
                         "fixed size: build it with keras.Input((16000,)) for 1 s of samples, or keras.Input((frames, "
                         "mels)) for log-mel frames")
    return FRONT_ENDS[front_end].describe(tuple(int(v) for v in input_shape), **given)


def calibration(folder: str | Path, pre: dict[str, Any], input_shape: tuple, n: int, minimum: int,
                seed: int = 0) -> np.ndarray:
    """Up to `n` windows as the model's float32 input, from the WAV files in `folder` taken in a seeded random
    order (so that the first `n` windows come from many recordings, not the first few). A file that cannot be read
    is named in the log and skipped; so is one the gate finds no speech in."""
    paths = wav_paths(folder)
    if not paths:
        raise ValueError(f"--calib-dir {folder}: no .wav files in it; pass a folder of speech recordings (WAV)")
    front = open_front_end(pre, (1, *input_shape), "the model")
    gate = GateSettings()  # the device's defaults ([audio] margin_db, min_level_db, min_speech_s)
    windows: list[np.ndarray] = []
    count, unreadable, rejected = 0, [], []
    for i in np.random.default_rng(seed).permutation(len(paths)):
        if count >= n:
            break
        path = paths[i]
        try:
            x, rate = read_wav(path)
        except (WavError, OSError) as e:  # the message names the file
            logger.warning("calibration: skipped %s", " ".join(str(e).split()))
            unreadable.append(path.name)
            continue
        x = to_mono(x)
        bad = invalid_samples(x)
        g = gate_segment(x, rate, gate) if bad is None else None
        if g is None or g.reason is not None:
            logger.info("calibration: skipped %s: %s", path, bad or g.reason)
            rejected.append(path.name)
            continue
        w = front.utterance(x, rate, g)
        windows.append(w)
        count += len(w)
    used = len(windows)
    if count < minimum:
        why = f"{len(unreadable)} unreadable ({', '.join(unreadable[:3])}{', ...' if len(unreadable) > 3 else ''}), " \
              if unreadable else ""
        raise ValueError(f"--calib-dir {folder}: {count} windows from {used} of {len(paths)} WAV files ({why}"
                         f"{len(rejected)} without speech the device's gate accepts), calibration needs at least "
                         f"{minimum}; add speech recordings")
    logger.info("calibration: %d windows from %d WAV files in %s (%d unreadable, %d without speech skipped)",
                min(count, n), used, folder, len(unreadable), len(rejected))
    return np.concatenate(windows)[:n].astype(np.float32)
