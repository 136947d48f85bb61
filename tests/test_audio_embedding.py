"""The speech-embedding front end (edge/audio/embedding.py) on real speech, through the ordinary backends."""

from pathlib import Path

import numpy as np
import pytest

from edge.audio.embedding import EMBED_DIM, EmbeddingSpec, SpeechEmbedding
from edge.audio.features import frame_energy_db, lld, normalise_level, trim_bounds, utterance_windows
from edge.audio.wav import read_wav, to_mono
from edge.audio.resample import resample

SHARED = Path(__file__).resolve().parents[1].parent / "shared"
MODELS = SHARED / "models" / "speech-embedding"
SPEECH = SHARED / "datasets" / "emodb" / "wav" / "03a01Wa.wav"
NAMES = {"speech_embedding_mel": "melspectrogram", "speech_embedding": "embedding_model"}

pytestmark = pytest.mark.skipif(not MODELS.is_dir(), reason="../shared/models/speech-embedding not here")


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    d = tmp_path_factory.mktemp("se")
    for stem, shared in NAMES.items():
        for ext in ("onnx", "tflite"):
            (d / f"{stem}.{ext}").symlink_to(MODELS / f"{shared}.{ext}")
    return d


@pytest.fixture(scope="module")
def speech():
    x, rate = read_wav(SPEECH)
    y = resample(to_mono(x), rate, 16000)
    return np.concatenate([y, y[: len(y) // 2]])  # ~3.5 s: several windows


def test_trim_reads_the_same_energy_as_lld(speech):
    x = normalise_level(speech, -26.0)
    d, _, _ = lld(x)
    e = frame_energy_db(x)
    np.testing.assert_allclose(e, d[:, 100], atol=1e-4)  # column 100: energy_db (40 mels + 3 x 20 MFCC)
    assert trim_bounds(e, 40.0) == trim_bounds(d[:, 100], 40.0)


def test_embedding_windows_match_the_functionals_windows(folder, speech):
    se = SpeechEmbedding(folder, backend="onnxruntime")
    f = utterance_windows(speech, 2.0, 0.5, 40.0, level_db=-26.0)
    e = se.windows(speech, 2.0, 0.5, 40.0, level_db=-26.0)
    assert e.shape == (len(f), 2 * EMBED_DIM) and len(f) > 1 and np.isfinite(e).all()
    assert (e[:, EMBED_DIM:] >= 0).all()  # the second half is a standard deviation
    # The level is normalised first: gain does not move the embeddings (up to float rounding).
    np.testing.assert_allclose(se.windows(0.1 * speech, 2.0, 0.5, 40.0, level_db=-26.0), e, atol=1e-2)


def test_mel_in_fixed_chunks_equals_one_pass(folder, speech):
    import onnxruntime as ort

    se = SpeechEmbedding(folder, backend="onnxruntime")
    one = ort.InferenceSession(str(MODELS / "melspectrogram.onnx")).run(None, {"input": speech[None] * 32768.0})[0]
    spec = EmbeddingSpec()
    np.testing.assert_allclose(se.mel_frames(speech), one[0, 0] * spec.mel_scale + spec.mel_offset, atol=1e-3)


def test_tflite_and_onnx_agree(folder, speech):
    pytest.importorskip("ai_edge_litert")
    a = SpeechEmbedding(folder, backend="onnxruntime").windows(speech, 2.0, 0.5, 40.0, level_db=-26.0)
    b = SpeechEmbedding(folder, backend="litert").windows(speech, 2.0, 0.5, 40.0, level_db=-26.0)
    np.testing.assert_allclose(a, b, atol=1e-3)


def test_a_short_utterance_still_gets_one_embedding(folder):
    rng = np.random.default_rng(0)
    x = (0.1 * rng.standard_normal(8000)).astype(np.float32)  # 0.5 s, under one 0.775 s window
    e = SpeechEmbedding(folder, backend="onnxruntime").windows(x, 2.0, 0.5, 40.0, level_db=-26.0)
    assert e.shape == (1, 2 * EMBED_DIM) and np.allclose(e[:, EMBED_DIM:], 0.0)
