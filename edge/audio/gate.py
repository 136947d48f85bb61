"""Speech gate that follows the signal: speech-band block levels, a tracked noise floor, and speech = well above it.

A fixed dBFS threshold fails both ways on a device: a quiet talker two metres away never
crosses it, and a fan or an open window that does is taken for speech. This gate measures
each 10 ms block in the speech band only (hum and rumble do not count), keeps the room's noise
floor as the lower envelope of those levels, and calls a block speech when it stands
`margin_db` over that floor. A level far under anything a microphone delivers for speech
(`min_level_db`) is "too quiet" whatever the floor.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

BLOCK_S = 0.01  # gating resolution: 10 ms blocks, the feature hop
BAND_HZ = (200.0, 4000.0)  # voiced speech energy; mains hum, HVAC rumble and hiss above 4 kHz fall outside
FLOOR_DB = -100.0  # level of a digitally silent block (the power floor before the log)
# Levels are power means over 3 blocks (30 ms): that halves how far stationary noise strays above its floor
# (generated pink noise, max minus 5th percentile over 8 s: 7.5 dB per 10 ms block, 4.5 dB per 30 ms).
SMOOTH_BLOCKS = 3


@dataclass(frozen=True)
class GateSettings:
    """The gate's numbers, from the [audio] config section (channels.base.gate_options) or the defaults."""

    margin_db: float = 12.0
    min_level_db: float = -80.0
    floor_rise_db_s: float = 3.0
    min_speech_s: float = 0.5

    @classmethod
    def from_config(cls, audio) -> "GateSettings":
        return cls(float(audio.margin_db), float(audio.min_level_db), float(audio.floor_rise_db_s),
                   float(audio.min_speech_s))


def block_samples(rate: int) -> int:
    """Samples in one 10 ms gating block at `rate`."""
    return max(1, int(rate * BLOCK_S))


@lru_cache(maxsize=8)
def _band(rate: int) -> tuple[np.ndarray, int, int]:
    """Hann window of one block and the rfft bin range of BAND_HZ at `rate`."""
    n = block_samples(rate)
    lo = int(np.ceil(BAND_HZ[0] * n / rate))
    hi = max(lo + 1, int(np.floor(BAND_HZ[1] * n / rate)) + 1)
    w = np.hanning(n + 2)[1:-1]  # no zero end points: every sample counts
    return (w / np.sqrt((w ** 2).mean())).astype(np.float32), lo, hi


def block_powers(x: np.ndarray, rate: int) -> np.ndarray:
    """Speech-band (BAND_HZ) mean square of each whole 10 ms block (a full-scale 1 kHz sine: 0.5)."""
    w, lo, hi = _band(int(rate))
    n = len(w)
    b = np.asarray(x, np.float32)[: len(x) // n * n].reshape(-1, n)
    if not len(b):
        return np.zeros(0)
    X = np.fft.rfft(b * w, axis=1)[:, lo:hi]
    # Parseval: 2 sum|X_k|^2 / n^2 over the band is the block's mean square within the band.
    return 2.0 * (X.real.astype(np.float64) ** 2 + X.imag.astype(np.float64) ** 2).sum(axis=1) / (n * n)


class LevelMeter:
    """dBFS levels of 30 ms (SMOOTH_BLOCKS) power means hopped by 10 ms, carried across calls for a stream."""

    def __init__(self) -> None:
        self._tail = np.zeros(0)

    def levels(self, powers: np.ndarray) -> np.ndarray:
        p = np.concatenate([self._tail, powers])
        c = np.concatenate([[0.0], np.cumsum(p)])
        k = np.minimum(np.arange(1, len(p) + 1), SMOOTH_BLOCKS)  # the first blocks of a stream average fewer
        mean = (c[1:] - c[np.arange(1, len(p) + 1) - k]) / k
        self._tail = p[-(SMOOTH_BLOCKS - 1):] if SMOOTH_BLOCKS > 1 else np.zeros(0)
        return 10.0 * np.log10(np.maximum(mean[len(p) - len(powers):], 10 ** (FLOOR_DB / 10)))


def block_levels(x: np.ndarray, rate: int) -> np.ndarray:
    """Smoothed speech-band level (dBFS) of each whole 10 ms block of a segment (LevelMeter from scratch)."""
    return LevelMeter().levels(block_powers(x, rate))


class NoiseFloor:
    """Lower envelope of block levels: drops at once to a quieter block, climbs `rise_db_s` while all is louder.

    Speech has pauses (between words, at stops) every few hundred ms, so the envelope keeps
    touching the room's own level; a room that gets louder for good is followed at `rise_db_s`.
    """

    def __init__(self, rise_db_s: float, start_db: float | None = None) -> None:
        self.step = float(rise_db_s) * BLOCK_S
        self.db = start_db

    def update(self, level_db: float) -> float:
        self.db = level_db if self.db is None or level_db < self.db else min(self.db + self.step, level_db)
        return self.db

    def track(self, levels: np.ndarray) -> np.ndarray:
        """Floor after each of `levels`, in order."""
        out = np.empty(len(levels))
        for i, level in enumerate(levels):
            out[i] = self.update(float(level))
        return out


def segment_floor(levels: np.ndarray) -> float:
    """Noise floor of a whole segment seen at once (a file, or an utterance the stream cut out): its 5th percentile.

    Any pause or pre-roll puts room noise in the lowest 5 %; in speech without a single pause the
    quietest 5 % of blocks are still 28 dB or more under the loudest (every Emo-DB and RAVDESS file
    we have, `tests/test_audio_gate.py`), so speech never reads as its own floor.
    """
    if not len(levels):
        return FLOOR_DB
    return float(np.percentile(levels, 5))


@dataclass(frozen=True)
class GateDecision:
    """What the gate says about a segment: the speech blocks, or the reason there is no speech."""

    reason: str | None  # None: speech; else "silence", "too quiet" or "too short"
    peak_db: float
    floor_db: float
    first: int = 0  # first and last speech block
    last: int = -1


def decide(levels: np.ndarray, floor_db: float, s: GateSettings) -> GateDecision:
    """Silence: nothing `margin_db` over the floor. Too quiet: that, but all under `min_level_db`. Too short:
    the speech blocks span less than `min_speech_s`."""
    peak = float(levels.max()) if len(levels) else FLOOR_DB
    speech = np.flatnonzero(levels >= floor_db + s.margin_db)
    if len(speech) == 0:
        return GateDecision("silence", peak, floor_db)
    if peak < s.min_level_db:
        return GateDecision("too quiet", peak, floor_db)
    first, last = int(speech[0]), int(speech[-1])
    if (last - first + 1) * BLOCK_S < s.min_speech_s:
        return GateDecision("too short", peak, floor_db, first, last)
    return GateDecision(None, peak, floor_db, first, last)


def gate_segment(x: np.ndarray, rate: int, s: GateSettings) -> GateDecision:
    """A whole segment judged at once (a file, or an utterance the stream cut out), against its own noise floor."""
    levels = block_levels(x, rate)
    return decide(levels, segment_floor(levels), s)


def speech_span(x: np.ndarray, rate: int, g: GateDecision) -> np.ndarray:
    """The samples from the gate's first speech block to its last (levels trail by two blocks: 20 ms of tail)."""
    n = block_samples(rate)
    return np.asarray(x)[g.first * n:(g.last + 1) * n]
