"""Issue 22, item 3: a face or voice model of one's own with labels the others lack runs, reports them and fuses.

Real small models built here with TensorFlow (a face model with FER+'s `contempt`, a voice model with RAVDESS's
`calm`), each with a sidecar of its own 8 labels, run through the real `edge-emotion infer` on the shipped demo
clip and its sound track. Their output layers are biased towards the new label, so the new label must win.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("tensorflow", reason="the convert extra is not installed: pip install -e .[convert]")

from edge.description import description_path  # noqa: E402
from edge.labels import FACE_LABELS, VOICE_LABELS  # noqa: E402
from edge.paths import FACE_MODEL, MODELS_DIR, SAMPLE_AUDIO, SAMPLE_VIDEO  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
FACE8 = list(FACE_LABELS) + ["contempt"]
VOICE8 = list(VOICE_LABELS) + ["calm"]
BIAS = 3.0  # logit of the new label (others 0): softmax gives it e^3 / (e^3 + 7) = 0.74 whatever the input


def tiny_tflite(input_shape: tuple[int, ...], n_out: int, path: Path) -> None:
    """A float32 classifier whose weights are zero and whose last bias favours the last label."""
    import tensorflow as tf

    inp = tf.keras.Input(shape=input_shape, batch_size=1)
    x = inp
    if len(input_shape) == 3:
        x = tf.keras.layers.Conv2D(4, 3)(x)
        x = tf.keras.layers.GlobalAveragePooling2D()(x)
    bias = np.zeros(n_out, np.float32)
    bias[-1] = BIAS
    out = tf.keras.layers.Dense(n_out, activation="softmax", kernel_initializer="zeros",
                                bias_initializer=tf.keras.initializers.Constant(bias))(x)
    path.write_bytes(tf.lite.TFLiteConverter.from_keras_model(tf.keras.Model(inp, out)).convert())


def sidecar_from(shipped: Path, model: Path, labels: list[str]) -> None:
    """The shipped model's sidecar, made true for the float32 8-label model: labels, tensors, no calibration."""
    d = json.loads(description_path(shipped).read_text())
    for key in ("calibration", "metrics", "macs", "postprocess", "quantization_scheme"):
        d.pop(key, None)
    d.update(name=model.stem, precision="float32", file=model.name, labels=labels)
    d["input"] = {"shape": d["input"]["shape"], "dtype": "float32"}
    d["output"] = {"shape": [1, len(labels)], "dtype": "float32"}
    description_path(model).write_text(json.dumps(d))


@pytest.fixture(scope="module")
def own_models(tmp_path_factory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("own")
    face, voice = root / "face8.tflite", root / "voice8.tflite"
    tiny_tflite((48, 48, 1), len(FACE8), face)
    sidecar_from(FACE_MODEL, face, FACE8)
    tiny_tflite((1097,), len(VOICE8), voice)
    sidecar_from(MODELS_DIR / "voice_v2_int8.tflite", voice, VOICE8)  # functionals alone: no embedding files
    return face, voice


def infer(tmp_path: Path, face: Path, voice: Path, *inputs: Path) -> list[dict]:
    cfg = tmp_path / "c.toml"
    cfg.write_text(f'[models]\nface = "{face}"\nvoice = "{voice}"\n')
    out = subprocess.run([sys.executable, "-m", "edge.cli", "infer", "--config", str(cfg), *map(str, inputs)],
                         capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    return [json.loads(line) for line in out.stdout.splitlines() if line.startswith("{")]


def test_check_config_accepts_models_with_labels_of_their_own(tmp_path, own_models):
    face, voice = own_models
    cfg = tmp_path / "c.toml"
    cfg.write_text(f'[video]\nsource = "{SAMPLE_VIDEO}"\n[audio]\nsource = "{SAMPLE_AUDIO}"\n'
                   f'[models]\nface = "{face}"\nvoice = "{voice}"\n')
    out = subprocess.run([sys.executable, "-m", "edge.cli", "check-config", str(cfg)], capture_output=True,
                         text=True, cwd=ROOT, timeout=120)
    assert out.returncode == 0, out.stderr


def test_new_labels_are_reported_and_fused_by_the_channels_that_have_them(tmp_path, own_models):
    face, voice = own_models
    clip = tmp_path / "clip.mp4"
    shutil.copy(SAMPLE_VIDEO, clip)
    shutil.copy(SAMPLE_AUDIO, clip.with_suffix(".wav"))  # its sound track: faces and voice in one result
    wav = tmp_path / "speech.wav"
    shutil.copy(SAMPLE_AUDIO, wav)
    video, audio = infer(tmp_path, face, voice, clip, wav)

    assert video["faces"], "the demo clip has a face"
    assert video["faces"][0]["emotion"] == "contempt" and set(video["faces"][0]["probs"]) == set(FACE8)
    assert video["audio"] is not None and video["audio"]["emotion"] == "calm"
    fused = video["fused"]
    assert set(fused["sources"]) == {"face", "voice"}
    assert {"contempt", "calm", "surprise", "bored"} <= set(fused["probs"])
    assert fused["emotion"] in ("contempt", "calm")
    assert sum(fused["probs"].values()) == pytest.approx(1.0, abs=1e-3)

    assert audio["audio"]["emotion"] == "calm" and set(audio["audio"]["probs"]) == set(VOICE8)
    probs = audio["fused"]["probs"]
    assert audio["fused"]["emotion"] == "calm" and "contempt" not in probs  # no face: only the voice's labels
    assert probs["surprise"] == 0.0  # the voice cannot express it and nobody else spoke


def test_run_fuses_the_new_labels_live_and_exits_0(tmp_path, own_models):
    """The live loop over the demo clip and its sound (as fast as it can): no exit 1 on a label of one's own."""
    face, voice = own_models
    cfg = tmp_path / "run.toml"
    cfg.write_text(f'[video]\nsource = "{SAMPLE_VIDEO}"\nrealtime = false\n[audio]\nsource = "{SAMPLE_AUDIO}"\n'
                   f'[models]\nface = "{face}"\nvoice = "{voice}"\n')
    out = subprocess.run([sys.executable, "-m", "edge.cli", "run", "--config", str(cfg)], capture_output=True,
                         text=True, cwd=ROOT, timeout=600)
    assert out.returncode == 0, out.stderr[-2000:]
    results = [json.loads(line) for line in out.stdout.splitlines() if line.startswith("{")]
    fused = [r["fused"] for r in results if r.get("fused", {}).get("probs")]
    assert fused and all("contempt" in f["probs"] for f in fused if "face" in f["sources"])
    assert any("calm" in f["probs"] for f in fused), "the demo's speech reached fusion"
    assert {f["emotion"] for f in fused} <= {"contempt", "calm"}
