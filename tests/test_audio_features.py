"""The numpy front-end against librosa on real Emo-DB speech, and the device path's import hygiene."""

import subprocess
import sys

import numpy as np
import pytest

from convert.voice.corpora import load_audio
from edge.audio.features import (VOICE_FEATURES as S, active_level_db, feature_names, lld, log_mel, mfcc,
                                 normalise_level, segment_features, spectral, stft_power, utterance_windows)

librosa = pytest.importorskip("librosa")
FILES = ["03a01Fa", "11b03Wb", "16b10Tb"]  # a male happy, a male angry, a female sad utterance


@pytest.fixture(scope="module", params=FILES)
def speech(request):
    return load_audio(f"../shared/datasets/emodb/wav/{request.param}.wav", S.sample_rate)


def _librosa_logmel(x):
    mel = librosa.feature.melspectrogram(y=x.astype(np.float64), sr=S.sample_rate, n_fft=S.n_fft,
                                         win_length=S.win_length, hop_length=S.hop_length, center=False,
                                         n_mels=S.n_mels, fmin=S.fmin, fmax=S.fmax, power=2.0)
    return librosa.power_to_db(mel, amin=S.amin, top_db=None)


def test_log_mel_and_mfcc_match_librosa(speech):
    ours = log_mel(stft_power(speech))
    ref = _librosa_logmel(speech).T
    assert ours.shape == ref.shape
    # Stated tolerance: 0.01 dB on log-mel (measured at most 7.5e-5 dB: float32 vs float64).
    assert np.abs(ours - ref).max() < 0.01
    ref_mfcc = librosa.feature.mfcc(S=ref.T, n_mfcc=S.n_mfcc).T
    # 0.01 on MFCCs whose magnitude reaches hundreds (measured at most 2.8e-4).
    assert np.abs(mfcc(ours) - ref_mfcc).max() < 0.01


def test_spectral_descriptors_match_librosa(speech):
    power = stft_power(speech)
    mag = np.sqrt(power).T
    ours = spectral(power)
    kw = dict(S=mag, sr=S.sample_rate, n_fft=S.n_fft)
    # Stated tolerance: 0.05 Hz on centroid and bandwidth (measured at most 0.0021 Hz); roll-off exact.
    assert np.abs(ours["centroid"] - librosa.feature.spectral_centroid(**kw)[0]).max() < 0.05
    assert np.abs(ours["bandwidth"] - librosa.feature.spectral_bandwidth(**kw)[0]).max() < 0.05
    assert np.abs(ours["rolloff"] - librosa.feature.spectral_rolloff(**kw)[0]).max() < 1e-3


def test_pitch_proxy_finds_a_synthetic_voice_and_speech():
    rate = S.sample_rate
    t = np.arange(rate) / rate
    for f0 in (100.0, 220.0):
        # A pulse-like voice: harmonics with falling amplitude.
        x = sum(np.sin(2 * np.pi * f0 * k * t) / k for k in range(1, 8)).astype(np.float32) * 0.2
        _, pitch, voicing = lld(x)
        assert np.median(pitch) == pytest.approx(f0, rel=0.03)
        assert (voicing > S.voicing_threshold).mean() > 0.95
    _, _, voicing = lld(np.random.default_rng(0).normal(0, 0.1, rate).astype(np.float32))
    assert (voicing > S.voicing_threshold).mean() < 0.05  # white noise is not voiced


def test_functionals_shape_names_and_windows(speech):
    v = segment_features(speech)
    assert v.shape == (len(feature_names()),) and np.isfinite(v).all()
    w = utterance_windows(np.concatenate([speech, speech]), 2.0, 0.5, 40.0)
    assert w.shape[0] >= 3 and w.shape[1] == len(v)
    with pytest.raises(ValueError, match="at least 2 frames"):
        segment_features(speech[:S.n_fft])


def test_level_normalisation_makes_the_features_level_free(speech):
    quiet = utterance_windows(speech * 0.01, 2.0, 0.5, 40.0, level_db=-26.0)  # -40 dB
    ref = utterance_windows(speech, 2.0, 0.5, 40.0, level_db=-26.0)
    assert np.allclose(quiet, ref, rtol=1e-3, atol=1e-3)
    assert active_level_db(normalise_level(speech, -26.0)) == pytest.approx(-26.0, abs=1e-3)
    # Pauses do not move the level: 1 s of silence around the speech reads the same.
    padded = np.concatenate([np.zeros(S.sample_rate, np.float32), speech, np.zeros(S.sample_rate, np.float32)])
    assert active_level_db(padded) == pytest.approx(active_level_db(speech), abs=0.01)


def test_device_path_imports_no_librosa_scipy_numba_soundfile_or_tensorflow():
    code = ("import sys, edge.classify.voice, edge.audio.features, edge.audio.gate, edge.audio.wav, edge.audio.resample; "
            "bad = [m for m in ('librosa', 'scipy', 'numba', 'tensorflow', 'keras', 'soundfile') if m in sys.modules]; "
            "print(bad); sys.exit(1 if bad else 0)")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr
