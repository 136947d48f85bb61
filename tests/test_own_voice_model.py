"""A voice model of your own, end to end: docs/models.md's worked examples run as written (issue 22, items 2 and 7).

The test builds the toy models itself (1 s of 16 kHz samples in, 8 labels with RAVDESS's `calm`; 96 log-mel frames
of 64 bands in, 4 labels, logits out), converts them with `edge-convert quantize --task voice` on Emo-DB's
recordings, and runs the results through `edge-emotion check-config` and `infer` and the voice classifier.
"""

from __future__ import annotations

import json
import logging
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from doc_example import doc_blocks, example_folder, sh

from edge.audio.frontend import LogMelFrontEnd, WaveformFrontEnd, open_front_end
from edge.audio.wav import write_wav
from edge.description import description_path

ROOT = Path(__file__).resolve().parents[1]
CLIPS = ROOT.parent / "shared" / "datasets" / "emodb" / "wav"
SECTION = "A voice model of your own"
LABELS = ["angry", "disgust", "fear", "happy", "sad", "surprise", "neutral", "calm"]
LOGMEL_LABELS = ["calm", "happy", "sad", "angry"]
SPEECH = ["03a01Fa.wav", "11b03Wb.wav", "16b10Tb.wav"]  # a male happy, a male angry, a female sad utterance
# The last label's bias: with the small random weights its softmax share is about e^2 / (e^2 + 7) = 0.51, so calm
# wins whatever the speech and the test can say which label must be reported.
BIAS = 2.0


def toy_waveform_model(path: Path) -> Path:
    """1 s of 16 kHz samples in ([1, 16000]), 8 probabilities out, the last (calm) favoured by its bias."""
    keras = pytest.importorskip("keras")
    keras.utils.set_random_seed(0)
    inp = keras.Input((16000,))
    x = keras.layers.Reshape((16000, 1))(inp)
    x = keras.layers.Conv1D(8, 400, strides=160, activation="relu")(x)  # 25 ms filters every 10 ms
    x = keras.layers.Conv1D(16, 3, strides=2, activation="relu")(x)
    x = keras.layers.GlobalAveragePooling1D()(x)
    bias = np.zeros(len(LABELS), np.float32)
    bias[-1] = BIAS
    out = keras.layers.Dense(len(LABELS), activation="softmax", bias_initializer=keras.initializers.Constant(bias))(x)
    keras.Model(inp, out).save(path)
    return path


def toy_logmel_model(path: Path) -> Path:
    """96 frames of 64 log-mel bands in ([1, 96, 64, 1]), 4 logits out (no softmax)."""
    keras = pytest.importorskip("keras")
    keras.utils.set_random_seed(1)
    inp = keras.Input((96, 64, 1))
    x = keras.layers.Conv2D(8, 3, strides=2, activation="relu")(inp)
    x = keras.layers.GlobalAveragePooling2D()(x)
    keras.Model(inp, keras.layers.Dense(len(LOGMEL_LABELS))(x)).save(path)
    return path


@pytest.fixture(scope="module")
def example(tmp_path_factory):
    """docs/models.md's voice examples, in a folder laid out as the doc assumes; the commands' results."""
    work = example_folder(tmp_path_factory, "own_voice", CLIPS, "*.wav", 100,
                          {"voice-clips": CLIPS, "speech.wav": CLIPS / SPEECH[0]})
    toy_waveform_model(work / "my_voice.keras")
    toy_logmel_model(work / "my_logmel.keras")
    blocks = doc_blocks(SECTION)
    (work / "my_voice.toml").write_text(blocks["toml"][0])
    lines = blocks["sh"][0].strip().splitlines() + blocks["sh"][1].strip().splitlines()
    return work, blocks, [(line, sh(line, work)) for line in lines]


def sidecar(work: Path, name: str) -> dict:
    return json.loads(description_path(work / "models" / name).read_text())


def test_the_doc_example_converts_a_waveform_model_with_eight_labels(example):
    work, blocks, results = example
    line, quantize = results[0]
    assert "--front-end waveform" in line and quantize.returncode == 0, quantize.stderr[-2000:]
    assert "Traceback" not in quantize.stderr and "oneDNN" not in quantize.stderr
    for suffix in ("_int8.tflite", "_float32.tflite", "_int8.onnx", "_float32.onnx", "_float16.onnx"):
        assert (work / "models" / f"my_voice{suffix}.json").is_file(), suffix
    side = sidecar(work, "my_voice_int8.tflite")
    assert side["name"] == "my_voice" and side["task"] == "voice" and side["labels"] == LABELS
    assert side["preprocess"] == json.loads(blocks["json"][0])  # the doc shows what the converter writes
    assert side["input"]["shape"] == [1, 16000] and side["output"]["shape"] == [1, 8]
    assert "postprocess" not in side  # told probabilities from the softmax, no --outputs given
    assert side["training_data"]["calibration"] == "1000 windows from voice-clips/"


def test_the_converted_model_passes_check_config_and_infer_reports_calm(example):
    _, _, results = example
    (check_line, check), (infer_line, infer) = results[1], results[2]
    assert check_line.startswith("edge-emotion check-config") and check.returncode == 0, check.stdout + check.stderr
    assert "OK" in check.stdout
    assert infer_line.startswith("edge-emotion infer") and infer.returncode == 0, infer.stderr[-2000:]
    result = json.loads(infer.stdout.splitlines()[0])
    audio = result["audio"]
    assert list(audio["probs"]) == LABELS and audio["emotion"] == "calm", audio
    assert abs(sum(audio["probs"].values()) - 1.0) < 0.01 and min(audio["probs"].values()) >= 0.0
    assert audio["windows"] >= 2  # Emo-DB's 2 s utterance: windows of 1 s hopped by 0.5 s
    assert result["fused"]["emotion"] == "calm" and result["fused"]["sources"] == ["voice"]


def test_the_int8_tflite_and_onnx_files_agree(example):
    from edge.classify.voice import VoiceClassifier

    work, _, _ = example
    tflite = VoiceClassifier(work / "models" / "my_voice_int8.tflite")
    onnx = VoiceClassifier(work / "models" / "my_voice_int8.onnx", backend="onnxruntime")
    for name in SPEECH:
        a, b = tflite.classify_file(CLIPS / name), onnx.classify_file(CLIPS / name)
        assert a.windows == b.windows >= 2 and a.emotion == b.emotion == "calm"
        # Each file quantizes on its own (TFLite int8 activations, onnxruntime QDQ uint8 with 7-bit weights):
        # one output step is 1/256, and the two stay within a few of them.
        assert np.abs(a.probs - b.probs).max() < 0.03, (name, a.probs, b.probs)


def test_the_doc_example_converts_a_logmel_model_with_its_flags_in_the_sidecar(example):
    from edge.classify.voice import VoiceClassifier

    work, blocks, results = example
    line, quantize = results[3]
    assert "--front-end logmel" in line and quantize.returncode == 0, quantize.stderr[-2000:]
    side = sidecar(work, "my_logmel_int8.onnx")
    assert side["preprocess"] == json.loads(blocks["json"][1])
    assert side["labels"] == LOGMEL_LABELS and side["postprocess"] == {"softmax": True}  # logits, told by the outputs
    assert side["input"]["shape"] == [1, 96, 64, 1]
    assert sorted(p.name for p in (work / "models").glob("my_logmel*")) == [
        "my_logmel_int8.onnx", "my_logmel_int8.onnx.json", "my_logmel_int8.tflite", "my_logmel_int8.tflite.json"]
    for name, backend in (("my_logmel_int8.tflite", None), ("my_logmel_int8.onnx", "onnxruntime")):
        r = VoiceClassifier(work / "models" / name, backend=backend).classify_file(CLIPS / SPEECH[1])
        assert r.labels == tuple(LOGMEL_LABELS) and r.windows >= 2 and abs(float(r.probs.sum()) - 1.0) < 1e-3


def test_a_sidecar_whose_window_is_not_the_models_input_exits_2_naming_both(example, tmp_path):
    from edge.classify.model import Model
    from edge.description import DescriptionError

    work, _, _ = example
    model = tmp_path / "mine_int8.tflite"
    shutil.copy(work / "models" / "my_voice_int8.tflite", model)
    side = sidecar(work, "my_voice_int8.tflite")
    side["preprocess"]["samples"] = 8000  # half a second: the sidecar of another model
    description_path(model).write_text(json.dumps(side))
    cfg = tmp_path / "c.toml"
    cfg.write_text(f'[video]\nsource = "none"\n[models]\nvoice = "{model}"\n')
    out = subprocess.run([sys.executable, "-m", "edge.cli", "check-config", str(cfg)], capture_output=True,
                         text=True, cwd=ROOT)
    assert out.returncode == 2, out.stdout + out.stderr
    line = next(ln for ln in out.stderr.splitlines() if "models.voice" in ln)
    assert "preprocess.samples 8000" in line and "16000 samples" in line and "Traceback" not in out.stderr
    with pytest.raises(DescriptionError, match="preprocess.samples 8000.*16000 samples"):
        Model(model)


def test_a_folder_without_usable_speech_is_refused_in_one_line(example):
    work, _, _ = example
    bad = work / "bad-clips"
    bad.mkdir()
    (bad / "broken.wav").write_bytes(b"RIFF\x10\x00\x00\x00WAVEjunk")
    write_wav(bad / "quiet.wav", np.zeros(16000, np.float32), 16000)
    r = sh("edge-convert quantize --model my_voice.keras --task voice --front-end waveform --labels "
           + ",".join(LABELS) + " --calib-dir bad-clips --out bad_out/", work)
    err = r.stderr.strip().splitlines()
    assert r.returncode == 2 and "Traceback" not in r.stderr, r.stderr
    assert err[-1].startswith("edge-convert quantize: --calib-dir bad-clips: 0 windows from 0 of 2 WAV files"), err
    assert "1 unreadable (broken.wav)" in err[-1] and "1 without speech" in err[-1] and "at least 300" in err[-1]
    assert any("broken.wav" in ln and "skipped" in ln for ln in err[:-1])  # the log names the corrupt file


# -- the front ends on their own: numpy, no TensorFlow ------------------------------------------------------------

def _speech_like(seconds: float, rate: int, seed: int) -> np.ndarray:
    """Quiet room noise, then a voiced 'vowel' (150 Hz and harmonics) for `seconds`, then the room again."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * rate)) / rate
    vowel = 0.1 * sum(np.sin(2 * np.pi * 150 * k * t) / k for k in range(1, 8))
    room = lambda: 1e-4 * rng.standard_normal(int(0.3 * rate))  # noqa: E731 - 80 dB under the vowel
    return np.concatenate([room(), vowel, room()]).astype(np.float32)


def test_calibration_cuts_windows_like_the_device_and_skips_a_corrupt_file_by_name(tmp_path, caplog):
    from convert.voice.own import calibration

    write_wav(tmp_path / "a.wav", _speech_like(1.6, 22050, 0), 22050)  # resampled to 16 kHz
    (tmp_path / "sub").mkdir()
    write_wav(tmp_path / "sub" / "b.wav", np.stack([_speech_like(0.7, 16000, 1)] * 2, axis=1), 16000)  # stereo
    (tmp_path / "c.wav").write_bytes(b"not a wav file at all")
    pre = WaveformFrontEnd.describe((16000,))
    with caplog.at_level(logging.INFO, logger="convert.voice.own"):
        calib = calibration(tmp_path, pre, (16000,), n=100, minimum=2)
    # a.wav: 1.6 s of speech -> windows at 0, 0.5 s and one flush with its end; b.wav (0.7 s): one, zero-padded.
    assert calib.shape == (4, 16000) and calib.dtype == np.float32
    assert any("c.wav" in r.getMessage() and "not a WAV file" in r.getMessage() for r in caplog.records)
    with pytest.raises(ValueError, match=r"4 windows from 2 of 3 WAV files \(1 unreadable \(c.wav\), 0 without "
                                         r"speech .*at least 5"):
        calibration(tmp_path, pre, (16000,), n=100, minimum=5)


def test_waveform_windows_hop_by_half_and_pad_short_speech():
    fe = open_front_end(WaveformFrontEnd.describe((1000, 1)), (1, 1000, 1))
    y = np.arange(2300, dtype=np.float32)
    w = fe.windows(y)
    assert w.shape == (4, 1000, 1) and [int(v[0, 0]) for v in w] == [0, 500, 1000, 1300]  # last flush with the end
    short = fe.windows(y[:300])
    assert short.shape == (1, 1000, 1) and short[0, 299, 0] == 299 and not short[0, 300:].any()


def test_logmel_frames_match_librosa_and_window_like_the_samples():
    librosa = pytest.importorskip("librosa")
    from convert.voice.corpora import load_audio

    pre = LogMelFrontEnd.describe((96, 64), fmin=50.0, log_offset=1e-3)
    fe = open_front_end(pre, (1, 96, 64))
    x = load_audio(CLIPS / SPEECH[2], 16000)
    mel = librosa.feature.melspectrogram(y=x.astype(np.float64), sr=16000, n_fft=512, win_length=400, hop_length=160,
                                         center=False, n_mels=64, fmin=50.0, fmax=8000.0, power=2.0)
    ref = np.log(mel + 1e-3).T
    ours = fe.log_mel(x)
    assert ours.shape == ref.shape
    assert np.abs(ours - ref).max() < 1e-3  # float32 against float64 (measured: a few 1e-6)
    windows = fe.windows(x)
    assert windows.shape[1:] == (96, 64) and np.array_equal(windows[0], ours[:96])
    assert np.array_equal(windows[1], ours[48:144])  # hop_s 0.48: 48 frames
    assert fe.window_samples() == 512 + 160 * 95


@pytest.mark.parametrize("pre, shape, words", [
    ({"front_end": "waveform", "samples": 16000}, (1, 8000), ["preprocess.samples 16000", "8000 samples"]),
    ({"front_end": "waveform", "samples": 16000}, (1, 16000, 2), ["[1, samples] or [1, samples, 1]", "[1, 16000, 2]"]),
    ({"front_end": "logmel", "frames": 96, "n_mels": 64}, (1, 98, 64, 1),
     ["preprocess.frames 96 x n_mels 64", "98 frames x 64 mels"]),
    ({"front_end": "spectrogram"}, (1, 8000), ["preprocess.front_end 'spectrogram' is not one of functionals, "
                                               "waveform, logmel"]),
])
def test_a_front_end_unlike_the_models_input_is_a_sidecar_mismatch(pre, shape, words):
    from types import SimpleNamespace

    from edge.description import ModelDescription, mismatches

    d = ModelDescription.from_dict({"schema": "edge-emotion/model/1", "name": "m", "task": "voice", "version": "1",
                                    "format": "tflite", "precision": "int8", "labels": ["a", "b"],
                                    "input": {"shape": list(shape), "dtype": "int8"},
                                    "output": {"shape": [1, 2], "dtype": "int8"}, "preprocess": pre})
    errors = "; ".join(mismatches(d, SimpleNamespace(shape=shape, dtype=np.dtype("int8")),
                                  SimpleNamespace(shape=(1, 2), dtype=np.dtype("int8"))))
    assert all(w in errors for w in words), errors
