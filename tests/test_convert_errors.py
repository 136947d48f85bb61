"""`edge-convert` fails with one line that says what to do: no traceback, no TensorFlow log (issue 22, item 6)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

# edge-convert is the workstation stage: under Python 3.8 (the device suite) it refuses every command in one line.
pytestmark = pytest.mark.skipif(sys.version_info < (3, 10), reason="edge-convert needs Python 3.10 or newer")

EDGE_CONVERT = [sys.executable, "-m", "convert.cli"]
ROOT = Path(__file__).resolve().parents[1]


def edge_convert(*argv: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([*EDGE_CONVERT, *argv], cwd=cwd, capture_output=True, text=True, timeout=300,
                          env={**__import__("os").environ, "PYTHONPATH": str(ROOT)})


def assert_one_line(result: subprocess.CompletedProcess, *names: str) -> None:
    err = result.stderr.strip()
    assert result.returncode == 2, (result.returncode, err)
    assert "Traceback" not in err and len(err.splitlines()) == 1 and len(err) < 400, err
    assert err.startswith("edge-convert quantize: ") and all(n in err for n in names), err


def test_a_missing_model_file_is_one_line_naming_the_flag(tmp_path):
    r = edge_convert("quantize", "--model", "nope.keras", "--labels", "a,b", "--calib-dir", ".", "--out", "o",
                     cwd=tmp_path)
    assert_one_line(r, "--model nope.keras", "no such file", ".keras or .h5")


def test_a_missing_calibration_folder_is_one_line_naming_the_fix(tmp_path):
    (tmp_path / "m.keras").write_bytes(b"")
    r = edge_convert("quantize", "--model", "m.keras", "--labels", "a,b", "--calib-dir", "photos", "--out", "o",
                     cwd=tmp_path)
    assert_one_line(r, "--calib-dir photos", "folder of face photos")


def test_a_model_keras_cannot_read_hides_tensorflow_log(tmp_path):
    """TensorFlow is imported here: its start-up lines (oneDNN, CUDA, absl) stay hidden."""
    pytest.importorskip("keras")
    (tmp_path / "m.keras").write_bytes(b"not a zip")
    (tmp_path / "photos").mkdir()
    r = edge_convert("quantize", "--model", "m.keras", "--labels", "a,b", "--calib-dir", "photos", "--out", "o",
                     cwd=tmp_path)
    assert_one_line(r, "--model m.keras", "Keras cannot load it", "model.save")
    assert "oneDNN" not in r.stderr and "absl" not in r.stderr


def test_debug_shows_the_traceback(tmp_path):
    r = edge_convert("--log-level", "DEBUG", "quantize", "--model", "nope.keras", "--labels", "a", "--calib-dir", ".",
                     "--out", "o", cwd=tmp_path)
    assert r.returncode == 2 and "Traceback" in r.stderr


@pytest.mark.parametrize("extra, names", [
    ([], ["--task voice", "train-voice", "--front-end waveform or logmel", "--calib-dir"]),
    (["--front-end", "functionals"], ["functionals front end", "edge-convert train-voice --out DIR"]),
    (["--front-end", "waveform", "--win-ms", "30"], ["--win-ms describe log-mel frames", "--front-end waveform"]),
    (["--front-end", "logmel", "--std", "0.5"], ["--std describe face crops", "a voice model takes none"]),
    (["--front-end", "waveform", "--calib-dir", "wavs"], ["--calib-dir wavs: no such folder", "WAV files of speech"]),
])
def test_a_voice_model_the_converter_cannot_take_is_one_line_naming_the_fix(tmp_path, extra, names):
    """Refused before TensorFlow loads (the model file is not even a model)."""
    (tmp_path / "m.keras").write_bytes(b"")
    calib = [] if "--calib-dir" in extra else ["--calib-dir", "."]
    r = edge_convert("quantize", "--model", "m.keras", "--task", "voice", "--labels", "a,b", *calib, *extra,
                     "--out", "o", cwd=tmp_path)
    assert_one_line(r, *names)


def test_a_front_end_without_task_voice_is_one_line(tmp_path):
    (tmp_path / "m.keras").write_bytes(b"")
    r = edge_convert("quantize", "--model", "m.keras", "--front-end", "waveform", "--labels", "a,b", "--calib-dir",
                     ".", "--out", "o", cwd=tmp_path)
    assert_one_line(r, "--front-end waveform describes a voice model", "--task voice")
