"""Voice training data: level, clipping, noise and speed variants of each utterance, and a disk cache of their features.

Features are extracted once per (file, variant) and cached, so sweeps over classifiers and
normalisations cost no feature work. Every noise here is generated (numpy), nothing is downloaded.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from pathlib import Path
from typing import Callable

import numpy as np

from edge.audio.features import active_level_db
from edge.audio.resample import resample
from edge.bench.datasets import Utterance

from .corpora import load_audio

logger = logging.getLogger(__name__)
RATE = 16000


def colored_noise(n: int, alpha: float, rng: np.random.Generator) -> np.ndarray:
    """n samples of 1/f^alpha noise with unit RMS: alpha 0 white, 1 pink, 2 brown (red)."""
    spec = np.fft.rfft(rng.standard_normal(n))
    f = np.arange(len(spec), dtype=np.float64)
    f[0] = 1.0
    y = np.fft.irfft(spec / f ** (alpha / 2.0), n=n)
    return (y / max(float(np.sqrt((y ** 2).mean())), 1e-12)).astype(np.float32)


def add_noise(x: np.ndarray, snr_db: float, alpha: float, rng: np.random.Generator) -> np.ndarray:
    """x plus 1/f^alpha noise `snr_db` under x's active speech level (features.active_level_db)."""
    noise_rms = 10.0 ** ((active_level_db(x) - snr_db) / 20.0)
    return (x + noise_rms * colored_noise(len(x), alpha, rng)).astype(np.float32)


def scale(x: np.ndarray, gain_db: float) -> np.ndarray:
    """x times gain_db, clipped to full scale and rounded to 16 bits: what a WAV file at that gain would hold."""
    y = np.clip(x * 10.0 ** (gain_db / 20.0), -1.0, 32767 / 32768)
    return (np.round(y * 32768.0) / 32768.0).astype(np.float32)


def speed(x: np.ndarray, factor: float) -> np.ndarray:
    """Play x `factor` times faster: tempo, pitch and formants move together (Kaldi's speed perturbation)."""
    return resample(x, int(round(RATE * factor)), RATE)


# Test conditions of issue 12: level -20 dB and +10 dB (clipped), pink noise at 20 and 10 dB SNR.
CONDITIONS: dict[str, Callable[[np.ndarray, np.random.Generator], np.ndarray]] = {
    "clean": lambda x, rng: x,
    "gain-20dB": lambda x, rng: scale(x, -20.0),
    "gain+10dB": lambda x, rng: scale(x, 10.0),
    "pink-snr20": lambda x, rng: add_noise(x, 20.0, 1.0, rng),
    "pink-snr10": lambda x, rng: add_noise(x, 10.0, 1.0, rng),
}


# Bumped whenever augment() changes: the cache names its augmented variants with it, so a stale file is never read.
AUGMENT_VERSION = 2


def augment(x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """One random training variant: speed 0.9-1.1; then with probability 0.5 a loud take (peak 0-12 dB over full
    scale, clipped), else with probability 0.5 of the rest a distant one (10-30 dB quieter, rounded to 16 bits,
    so the rounding noise the level normalisation lifts is heard in training); then with probability 0.5 noise
    (white to brown, 5-30 dB SNR)."""
    y = speed(x, float(rng.uniform(0.9, 1.1)))
    if rng.random() < 0.5:  # clip: peak lands 0-12 dB over full scale
        y = scale(y, float(rng.uniform(0.0, 12.0)) - 20.0 * np.log10(max(float(np.abs(y).max()), 1e-6)))
    elif rng.random() < 0.5:
        y = scale(y, -float(rng.uniform(10.0, 30.0)))
    if rng.random() < 0.5:
        y = add_noise(y, float(rng.uniform(5.0, 30.0)), float(rng.uniform(0.0, 2.0)), rng)
    return y


def variant_audio(u: Utterance, variant: str, seed: int) -> np.ndarray:
    """The audio of one variant: a CONDITIONS name, or 'aug<k>' (the k-th random training variant)."""
    x = load_audio(u.path, RATE)
    # One generator per (file, variant, seed): the same variant every time, whatever else was extracted.
    key = hashlib.sha1(f"{u.path.name}|{variant}|{seed}".encode()).digest()
    rng = np.random.default_rng(int.from_bytes(key[:8], "little"))
    if variant.startswith("aug"):
        return augment(x, rng)
    return CONDITIONS[variant](x, rng)


class FeatureCache:
    """(windows, features) per utterance and variant, one .npz per variant under `folder`, and the gate's verdicts.

    `extract` maps 16 kHz audio to features and runs once per (utterance, variant); `params` (everything
    it depends on) names the cache files.
    """

    def __init__(self, folder: Path | None, extract: Callable[[np.ndarray], np.ndarray], params: dict) -> None:
        self.folder, self.extract = folder, extract
        self.key = hashlib.sha1(json.dumps(params, sort_keys=True).encode()).hexdigest()[:12]

    def _cached(self, utts: list[Utterance], variant: str, seed: int, suffix: str,
                compute: Callable[[np.ndarray], np.ndarray]) -> list[np.ndarray]:
        names = [f"{u.corpus}/{u.path.name}" for u in utts]
        have: dict[str, np.ndarray] = {}
        path = None
        if self.folder is not None:
            version = f"v{AUGMENT_VERSION}" if variant.startswith("aug") else ""
            # Clean audio draws no random numbers: one cache file serves every seed.
            path = self.folder / f"{self.key}_{variant}{version}_s{0 if variant == 'clean' else seed}{suffix}.npz"
            if path.exists():
                with np.load(path) as z:
                    have = {k: z[k] for k in z.files}
        missing = [i for i, n in enumerate(names) if n not in have]
        if missing:
            t0 = time.perf_counter()
            for i in missing:
                have[names[i]] = compute(variant_audio(utts[i], variant, seed))
            logger.info("%s%s (seed %d): %d utterances in %.1f s", variant, suffix, seed, len(missing),
                        time.perf_counter() - t0)
            if path is not None:
                path.parent.mkdir(parents=True, exist_ok=True)
                tmp = path.with_suffix(".tmp.npz")
                np.savez(tmp, **have)
                tmp.replace(path)
        return [have[n] for n in names]

    def features(self, utts: list[Utterance], variant: str, seed: int = 0) -> list[np.ndarray]:
        """Features of every utterance in `variant`, extracting (and caching) the missing ones."""
        return self._cached(utts, variant, seed, "", self.extract)

    def gate(self, utts: list[Utterance], variant: str, seed: int, gate: Callable[[np.ndarray], str | None],
             params: dict) -> list[str | None]:
        """The gate's reason (None: speech) for every utterance in `variant`; `params` are the gate's settings."""
        reasons = ("", "silence", "too quiet", "too short")
        key = hashlib.sha1(json.dumps(params, sort_keys=True).encode()).hexdigest()[:8]
        codes = self._cached(utts, variant, seed, f"_gate{key}", lambda x: np.array(reasons.index(gate(x) or "")))
        return [reasons[int(c)] or None for c in codes]
