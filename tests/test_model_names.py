"""Every bundled model name, and `backend = "onnxruntime"` alone, through check-config, infer and run (issue 23).

`models.face = "face_large"` once failed in check-config, infer and run (preflight resolved names without the
bundled table the face channel used) while edge-bench accepted it; one resolver (edge.paths.resolve_model) now
serves them all, and these commands are run for real, with the real models, on real photos and speech.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from edge.paths import BUNDLED, SAMPLE_AUDIO

ROOT = Path(__file__).resolve().parents[1]
PHOTOS = ROOT.parent / "shared" / "datasets" / "face-photos"

# (the [models] lines, the files the loop must name as loaded)
CASES = {
    **{f"face={name}": (f'face = "{name}"', [f"face: {stem}.tflite"]) for name, stem in BUNDLED["face"].items()},
    "voice=voice": ('voice = "voice"', ["voice: voice_int8.tflite"]),
    "text=text": ('text = "text"\n[text]\nsource = "stdin"', ["text: text_int8.tflite"]),
    "backend=onnxruntime": ('backend = "onnxruntime"',
                            ["face: face_int8.onnx (onnxruntime)", "voice: voice_int8.onnx (onnxruntime)"]),
    "face_large+onnxruntime": ('face = "face_large"\nbackend = "onnxruntime"', ["face: face_large_int8.onnx"]),
}


def cli(*args, **kw):
    return subprocess.run([sys.executable, "-m", "edge.cli", *args], capture_output=True, text=True, cwd=ROOT,
                          timeout=120, **kw)


@pytest.fixture(params=sorted(CASES))
def case(request, tmp_path):
    models, loaded = CASES[request.param]
    if "onnxruntime" in models:
        pytest.importorskip("onnxruntime", reason="the onnxruntime backend is optional (pip install edge-emotion[onnx])")
    cfg = tmp_path / "names.toml"
    cfg.write_text(f"[video]\nsource = \"sample\"\n[audio]\nsource = \"sample\"\n[models]\n{models}\n")
    return cfg, loaded


def test_check_config_accepts_every_bundled_name(case):
    cfg, _ = case
    p = cli("check-config", str(cfg))
    assert p.returncode == 0, p.stdout + p.stderr
    assert "OK" in p.stdout


def test_infer_runs_every_bundled_name(case):
    cfg, _ = case
    photo = sorted((PHOTOS / "images").glob("*"))[:1] if PHOTOS.is_dir() else []
    if not photo:
        pytest.skip(f"face photos not found at {PHOTOS}")
    p = cli("infer", "--config", str(cfg), str(photo[0]), str(SAMPLE_AUDIO), "--text", "I am so happy to see you")
    assert p.returncode == 0, p.stderr
    lines = [json.loads(line) for line in p.stdout.splitlines()]
    assert len(lines) == 3 and not any("error" in r for r in lines), lines
    assert lines[0]["faces"] and lines[0]["faces"][0]["emotion"]
    assert lines[2]["text"]["emotion"]


def test_run_loads_the_named_files_and_gives_results(case):
    cfg, loaded = case
    p = subprocess.Popen([sys.executable, "-m", "edge.cli", "run", "--config", str(cfg)], cwd=ROOT,
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        first = json.loads(p.stdout.readline())
        p.send_signal(signal.SIGTERM)
        _, err = p.communicate(timeout=30)
    finally:
        p.kill()
    assert p.returncode == 0, err
    assert first["schema"] == "edge-emotion/result/1"
    models_line = next(line for line in err.splitlines() if "models loaded" in line)
    for name in loaded:
        assert name in models_line, models_line


def test_unknown_name_says_which_names_exist(tmp_path):
    cfg = tmp_path / "bad.toml"
    cfg.write_text('[models]\nface = "face_huge"\n[video]\nsource = "sample"\n')
    p = cli("check-config", str(cfg))
    assert p.returncode == 2
    assert "models.face = 'face_huge'" in p.stderr + p.stdout and "face_large" in p.stderr + p.stdout
