"""The shipped voice model through edge/: speech gating reasons, the stream, running normalisation."""

from types import SimpleNamespace

import numpy as np
import pytest

from edge.audio.normalise import RunningNorm
from edge.audio.voice import VoiceClassifier, VoiceStream
from edge.audio.wav import read_wav, to_mono
from edge.labels import VOICE_LABELS
from edge.paths import MODELS_DIR

MODEL = MODELS_DIR / "voice_int8.tflite"
SPEECH = "../shared/datasets/emodb/wav/03a01Wa.wav"
AUDIO = SimpleNamespace(energy_threshold_db=-45.0, min_speech_s=0.5, end_silence_s=0.4, max_utterance_s=8.0)


@pytest.fixture(scope="module")
def clf():
    return VoiceClassifier(MODEL)


@pytest.fixture(scope="module")
def speech():
    x, rate = read_wav(SPEECH)
    return to_mono(x), rate


def test_speech_gives_probabilities_over_the_voice_labels(clf, speech):
    clf.norm.reset()
    r = clf.classify(*speech)
    assert r.reason is None and r.labels == VOICE_LABELS
    assert r.probs.shape == (7,) and abs(float(r.probs.sum()) - 1.0) < 0.05
    assert r.windows == 1 and r.level_db > -30
    d = r.to_dict()
    assert d["emotion"] == r.emotion and set(d["probs"]) == set(VOICE_LABELS)


@pytest.mark.parametrize("make,reason", [
    (lambda n: np.zeros(n, np.float32), "silence"),
    (lambda n: np.random.default_rng(0).normal(0, 10 ** (-80 / 20), n).astype(np.float32), "silence"),
    (lambda n: np.random.default_rng(1).normal(0, 10 ** (-52 / 20), n).astype(np.float32), "too quiet"),
])
def test_silence_and_quiet_audio_give_no_emotion_and_say_why(clf, make, reason):
    r = clf.classify(make(32000), 16000)
    assert r.probs is None and r.emotion is None and r.reason == reason
    assert r.to_dict() == {"start_s": 0.0, "duration_s": 2.0, "level_db": round(r.level_db, 1), "emotion": None,
                           "reason": reason}


def test_a_short_burst_is_too_short(clf, speech):
    x, rate = speech
    loud = x[int(0.5 * rate):int(0.8 * rate)]  # 0.3 s of speech < min_speech_s 0.5
    r = clf.classify(np.concatenate([np.zeros(rate, np.float32), loud, np.zeros(rate, np.float32)]), rate)
    assert r.probs is None and r.reason == "too short"


def test_stream_finds_the_utterance_between_silences(clf, speech):
    x, rate = speech
    clf.norm.reset()
    expected = clf.classify(x, rate).probs
    clf.norm.reset()
    stream = VoiceStream(clf, AUDIO, rate)
    assert stream.reason == "silence"
    audio = np.concatenate([np.zeros(rate, np.float32), x, np.zeros(rate, np.float32)])
    results = []
    for i in range(0, len(audio), 1103):  # 50 ms chunks, not aligned to the 10 ms blocks
        update = stream.feed(audio[i:i + 1103])
        results += [update.result] if update.result else []
    assert len(results) == 1 and stream.reason == "silence"
    r = results[0]
    assert 0.7 < r.start_s < 1.0 and 1.0 < r.duration_s < 2.8
    # The stream hands over speech with a little silence around it; trimming makes the result match the file's.
    assert r.emotion == clf.labels[int(np.argmax(expected))]
    assert stream.utterances == 1 and stream.flush() is None


def test_stream_at_48k_gives_the_same_emotion_as_the_file(clf, speech):
    from edge.audio.resample import resample

    x, rate = speech
    clf.norm.reset()
    expected = clf.classify(x, rate).emotion
    clf.norm.reset()
    x48 = resample(x, rate, 48000)
    stream = VoiceStream(clf, AUDIO, 48000)
    audio = np.concatenate([np.zeros(24000, np.float32), x48, np.zeros(48000, np.float32)])
    results = [u.result for u in (stream.feed(audio[i:i + 2400]) for i in range(0, len(audio), 2400)) if u.result]
    assert [r.emotion for r in results] == [expected]


def test_stream_flush_reports_speech_in_progress(clf, speech):
    x, rate = speech
    stream = VoiceStream(clf, AUDIO, rate)
    assert stream.feed(x).result is None and stream.reason is None  # still speaking
    assert stream.flush().probs is not None


def test_running_norm_starts_at_the_prior_and_forgets_beyond_max_count():
    norm = RunningNorm(mean=[0.0, 0.0], std=[1.0, 2.0], prior_count=5, max_count=20, clip=5.0)
    assert np.allclose(norm.apply(np.array([1.0, 2.0])), [1.0, 1.0])
    for _ in range(200):
        norm.update(np.array([10.0, -4.0]))
    assert norm.n <= 20 and norm.heard > 0
    # After many utterances of one voice, that voice is the new centre.
    assert np.abs(norm.apply(np.array([10.0, -4.0]))).max() < 0.5
    assert np.abs(norm.apply(np.array([1e6, 0.0]))).max() == 5.0  # clipped
    norm.reset()
    assert norm.heard == 0


def test_a_model_described_as_another_task_is_refused(tmp_path):
    import json
    import shutil

    shutil.copy(MODEL, tmp_path / "m.tflite")
    d = json.loads((MODELS_DIR / "voice_int8.tflite.json").read_text())
    (tmp_path / "m.tflite.json").write_text(json.dumps({**d, "task": "face"}))
    with pytest.raises(ValueError, match="not a voice model"):
        VoiceClassifier(tmp_path / "m.tflite")
    d["preprocess"]["feature_set"] = "functionals/0"
    (tmp_path / "m.tflite.json").write_text(json.dumps(d))
    with pytest.raises(ValueError, match="feature set 'functionals/0'"):
        VoiceClassifier(tmp_path / "m.tflite")
