"""The adaptive speech gate on real speech scaled quiet and loud, and on generated room noise."""

import numpy as np
import pytest

from convert import DATASETS
from convert.voice.corpora import load_audio
from convert.voice.data import colored_noise, scale
from edge.audio.gate import GateSettings, NoiseFloor, block_levels, decide, segment_floor

GATE = GateSettings()
RATE = 16000
# The quietest RAVDESS file we have (loudest 30 ms at -51 dBFS), a loud Emo-DB one (peaks at 0 dBFS).
QUIET = DATASETS / "ravdess" / "Actor_01" / "03-01-01-01-01-01-01.flac"
LOUD = DATASETS / "emodb" / "wav" / "03a01Wa.wav"


def _gate(x: np.ndarray) -> str | None:
    levels = block_levels(x, RATE)
    return decide(levels, segment_floor(levels), GATE).reason


def _room(seconds: float, level_db: float, seed: int, alpha: float = 1.0, hum: bool = True) -> np.ndarray:
    """Room noise: 1/f^alpha noise at level_db dBFS RMS, plus 50 Hz mains hum with harmonics 20 dB louder."""
    rng = np.random.default_rng(seed)
    n = int(seconds * RATE)
    x = colored_noise(n, alpha, rng) * 10 ** (level_db / 20)
    if hum:
        t = np.arange(n) / RATE
        x += 10 ** ((level_db + 20) / 20) * sum(np.sin(2 * np.pi * 50 * k * t) / k for k in (1, 2, 3))
    return x.astype(np.float32)


@pytest.fixture(scope="module", params=[QUIET, LOUD], ids=["ravdess-quiet", "emodb-loud"])
def speech(request):
    return load_audio(request.param, RATE)


@pytest.mark.parametrize("gain_db", [0.0, -20.0, -30.0, 10.0])
def test_real_speech_is_speech_at_any_gain(speech, gain_db):
    # -30 dB puts the quiet RAVDESS file's loudest 30 ms near -80 dBFS; +10 dB clips the Emo-DB file hard.
    assert _gate(scale(speech, gain_db)) is None


@pytest.mark.parametrize("alpha", [0.0, 1.0, 2.0])
@pytest.mark.parametrize("level_db", [-70.0, -45.0, -25.0])
def test_room_noise_is_silence_at_any_level(alpha, level_db):
    # White, pink and brown noise with hum, from a quiet room to a loud fan: the fixed -45 dBFS gate took the
    # louder ones for speech.
    assert _gate(_room(4.0, level_db, seed=int(alpha * 10 - level_db), alpha=alpha)) == "silence"


def test_a_quiet_speaker_two_metres_away_in_a_room_is_heard(speech):
    # 2 m instead of 0.2 m: -20 dB; the room 20 dB under the speech's active level (hum included).
    quiet = scale(speech, -20.0)
    level = 10 * np.log10(np.mean(quiet[np.abs(quiet) > 0] ** 2) + 1e-20)
    room = _room(len(quiet) / RATE + 1e-3, level - 20.0, seed=3)[: len(quiet)]
    assert _gate(quiet + room) is None


def test_digital_silence_faint_sound_and_short_bursts(speech):
    assert _gate(np.zeros(2 * RATE, np.float32)) == "silence"
    faint = np.zeros(2 * RATE, np.float32)
    part = speech[:RATE] * 10 ** ((-86.0 - block_levels(speech[:RATE], RATE).max()) / 20)
    faint[RATE // 2:RATE + RATE // 2] = part  # a sound (float samples), its loudest 30 ms at -86 dBFS: too quiet
    assert _gate(faint) == "too quiet"
    burst = np.zeros(2 * RATE, np.float32)
    loud = speech[np.argmax(np.abs(speech)) - 2400:][:4800]  # 0.3 s around the loudest sample
    burst[RATE:RATE + len(loud)] = loud
    assert _gate(burst) == "too short"


def test_noise_floor_falls_at_once_and_climbs_at_its_rate():
    floor = NoiseFloor(rise_db_s=3.0)
    assert floor.update(-40.0) == -40.0
    assert floor.update(-60.0) == -60.0  # quieter: at once
    for _ in range(100):  # 1 s of blocks at -30 dBFS
        floor.update(-30.0)
    assert floor.db == pytest.approx(-57.0, abs=0.01)
