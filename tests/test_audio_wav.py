"""WAV reading (any rate, channels, int16/int24/float) and numpy resampling against librosa."""

import numpy as np
import pytest

from edge.audio.resample import resample
from edge.audio.wav import WavError, parse_wav, read_wav, to_mono, write_wav

EMODB = "../shared/datasets/emodb/wav/03a01Fa.wav"


def _sine(rate, seconds=1.0, freq=440.0, amp=0.5):
    t = np.arange(int(rate * seconds)) / rate
    return (amp * np.sin(2 * np.pi * freq * t)).astype(np.float32)


@pytest.mark.parametrize("bits,tol", [(16, 1 / 32768), (24, 1 / 2 ** 23), (32, 1e-7)])
def test_pcm_and_float_round_trip_stereo(tmp_path, bits, tol):
    x = np.stack([_sine(8000, 0.1), -0.25 * np.ones(800, np.float32)], axis=1)
    write_wav(tmp_path / "a.wav", x, 8000, bits=bits)
    y, rate = read_wav(tmp_path / "a.wav")
    assert rate == 8000 and y.shape == (800, 2)
    assert np.abs(y - x).max() <= tol
    assert np.allclose(to_mono(y), x.mean(axis=1), atol=tol)


def test_real_emodb_file_reads_as_16bit_mono_22k():
    x, rate = read_wav(EMODB)
    assert rate == 22050 and x.shape == (44100, 1) and x.dtype == np.float32
    assert 0.1 < np.abs(x).max() <= 1.0


def test_non_wav_and_truncated_files_name_the_file(tmp_path):
    (tmp_path / "notes.wav").write_text("this is not audio")
    with pytest.raises(WavError, match="notes.wav.*not a WAV"):
        read_wav(tmp_path / "notes.wav")
    full = open(EMODB, "rb").read()
    (tmp_path / "cut_header.wav").write_bytes(full[:30])
    with pytest.raises(WavError, match="cut_header.wav.*truncated"):
        read_wav(tmp_path / "cut_header.wav")
    (tmp_path / "cut_data.wav").write_bytes(full[:20000])
    with pytest.raises(WavError, match="cut_data.wav.*truncated.*'data' chunk declares 88200 bytes, 19956 present"):
        read_wav(tmp_path / "cut_data.wav")
    with pytest.raises(WavError, match="missing.wav.*cannot read"):
        read_wav(tmp_path / "missing.wav")


def test_unfinished_recorder_file_with_zero_data_size_is_read_to_its_end():
    full = bytearray(open(EMODB, "rb").read())
    full[40:44] = b"\0\0\0\0"  # data chunk size left at 0, as a crashed recorder leaves it
    x, rate = parse_wav(bytes(full), "crashed.wav")
    assert x.shape == (44100, 1)


@pytest.mark.parametrize("rate", [8000, 22050, 44100, 48000])
def test_resampling_to_16k_keeps_a_tone(rate):
    y = resample(_sine(rate), rate, 16000)
    assert len(y) == 16000
    ref = _sine(16000)
    # 1.5 ms of edge effect at each end; inside, error under 0.5% of the 0.5 amplitude.
    assert np.abs(y - ref)[50:-50].max() < 0.0025


def test_resampling_rejects_aliases_and_matches_librosa_on_speech():
    librosa = pytest.importorskip("librosa")
    # A 9 kHz tone is above the 16 kHz output's Nyquist and would alias to 7 kHz: it must be 60 dB down.
    y = resample(_sine(48000, freq=9000.0), 48000, 16000)
    assert 20 * np.log10(np.abs(y[100:-100]).max() / 0.5) < -60
    x, rate = read_wav(EMODB)
    x = to_mono(x)
    ours = resample(x, rate, 16000)
    ref = librosa.resample(x, orig_sr=rate, target_sr=16000, res_type="soxr_hq")
    snr = 10 * np.log10((ref ** 2).sum() / ((ours - ref) ** 2).sum())
    assert snr > 40, f"SNR against librosa/soxr {snr:.1f} dB"  # measured 46.5 dB


def test_resample_refuses_stereo():
    with pytest.raises(ValueError, match="to_mono"):
        resample(np.zeros((10, 2)), 8000, 16000)
