"""Issue 22, item 4: a sidecar is checked against its model's real tensors before anything runs.

The shipped face model is copied with a sidecar edited the ways a hand-written or stale one goes wrong; check-config
must exit 2 (a config error: systemd does not restart it) naming the key and both figures, and loading the model
must refuse it too.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from edge.description import DescriptionError, description_path
from edge.classify.model import Model, check_model_file
from edge.paths import FACE_MODEL, MODELS_DIR

ROOT = Path(__file__).resolve().parents[1]


def copy_with_sidecar(tmp_path: Path, edit) -> Path:
    """face_int8.tflite copied into tmp_path with its sidecar changed by `edit(dict)`."""
    model = tmp_path / "mine.tflite"
    shutil.copy(FACE_MODEL, model)
    d = json.loads(description_path(FACE_MODEL).read_text())
    edit(d)
    description_path(model).write_text(json.dumps(d))
    return model


def eight_labels(d):
    d["labels"] = d["labels"] + ["contempt"]


def rgb_64(d):
    d["input"]["shape"] = [1, 64, 64, 3]
    d["preprocess"]["size"] = [64, 64]
    d["preprocess"]["color"] = "rgb"


def float_input(d):
    d["input"]["dtype"] = "float32"


def wrong_size(d):
    d["preprocess"]["size"] = [64, 64]


def embedding_parts() -> dict[str, str]:
    """File stems a shipped voice sidecar names as its speech embedding's parts ('mel' or 'net'): they are
    described by that sidecar (preprocess.embedding), not by one of their own."""
    parts = {}
    for side in MODELS_DIR.glob("*.json"):
        emb = (json.loads(side.read_text()).get("preprocess") or {}).get("embedding") or {}
        if emb:
            parts[emb["mel_model"]], parts[emb["embedding_model"]] = "mel", "net"
    return parts


def test_every_shipped_sidecar_matches_its_model():
    parts = embedding_parts()
    models = [p for p in sorted(MODELS_DIR.rglob("*")) if p.suffix in (".tflite", ".onnx") and p.stem not in parts]
    assert models
    for p in models:
        assert check_model_file(p) == [], p.name


def test_the_voice_models_embedding_parts_are_what_its_sidecar_says():
    """The default voice model's sidecar names two embedding files; both formats are shipped and their tensors are
    what edge/audio/embedding.py feeds and reads (76 mel frames of 32 bands in, 96 numbers out)."""
    from edge.audio.embedding import EMBED_DIM, EmbeddingSpec
    from edge.backends import open_backend

    parts = embedding_parts()
    assert sorted(parts.values()) == ["mel", "net"]
    spec = EmbeddingSpec()
    for stem, role in parts.items():
        for ext, backend in (("tflite", None), ("onnx", "onnxruntime")):
            if backend:
                pytest.importorskip("onnxruntime")
            b = open_backend(MODELS_DIR / f"{stem}.{ext}", backend=backend)
            if role == "net":
                assert tuple(b.inputs[0].shape[1:]) == (spec.window_frames, 32, 1), stem
                assert int(b.outputs[0].shape[-1]) == EMBED_DIM, stem
            else:
                assert int(b.outputs[0].shape[-1]) == 32, stem  # mel bands per frame; samples in, any length


@pytest.mark.parametrize("edit, words", [
    (eight_labels, ["sidecar lists 8 labels", "outputs 7"]),
    (rgb_64, ["[1, 64, 64, 3]", "[1, 48, 48, 1]", "preprocess.color 'rgb' gives 3 channel(s), the model's input has 1"]),
    (float_input, ["dtype float32", "input is int8"]),
    (wrong_size, ["preprocess.size [64, 64]", "input is 48x48"]),
])
def test_a_sidecar_that_does_not_match_its_model_is_refused(tmp_path, edit, words):
    model = copy_with_sidecar(tmp_path, edit)
    errors = "; ".join(check_model_file(model))
    for w in words:
        assert w in errors
    with pytest.raises(DescriptionError) as e:  # loading refuses it too (`infer`, `edge-bench --accuracy`)
        Model(model)
    for w in words:
        assert w in str(e.value)


def test_check_config_exits_2_naming_the_key_and_both_numbers(tmp_path):
    model = copy_with_sidecar(tmp_path, eight_labels)
    cfg = tmp_path / "c.toml"
    cfg.write_text(f'[video]\nsource = "0"\n[audio]\nsource = "none"\n[models]\nface = "{model}"\n')
    out = subprocess.run([sys.executable, "-m", "edge.cli", "check-config", str(cfg)], capture_output=True,
                         text=True, cwd=ROOT)
    assert out.returncode == 2, out.stderr
    line = next(ln for ln in out.stderr.splitlines() if "models.face" in ln)
    assert "sidecar lists 8 labels" in line and "outputs 7" in line and "Traceback" not in out.stderr


def test_edge_bench_refuses_a_mismatched_sidecar_before_any_run(tmp_path):
    from edge.bench import cli

    model = copy_with_sidecar(tmp_path, eight_labels)
    with pytest.raises(SystemExit, match="mine.tflite: sidecar lists 8 labels, the model outputs 7"):
        cli.main(["models", "--model", str(model), "--min-time", "0.02", "--out", str(tmp_path / "r")])
    assert not (tmp_path / "r").exists()
