"""Without any TFLite runtime, the device falls back to the ONNX models and the Haar detector, and says so."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PHOTO = ROOT.parent / "shared" / "datasets" / "face-photos" / "images" / "Adrian_Fernandez_0001.jpg"

# Setting a module to None in sys.modules makes importing it raise ImportError: the same path a
# device without the package takes.
NO_TFLITE = "import sys; sys.modules['ai_edge_litert'] = None; sys.modules['tflite_runtime'] = None\n"


def test_no_tflite_runtime_uses_onnx_and_haar():
    pytest.importorskip("onnxruntime")
    if not PHOTO.is_file():
        pytest.skip(f"shared datasets not at {PHOTO.parent}")
    code = NO_TFLITE + (
        "from edge.cli import main\n"
        f"sys.exit(main(['infer', {str(PHOTO)!r}]))\n"
    )
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert p.returncode == 0, p.stderr
    line = json.loads(p.stdout)
    assert line["faces"] and line["faces"][0]["emotion"]
    assert "using face_int8.onnx with onnxruntime" in p.stderr
    assert "falling back to the Haar cascade" in p.stderr


def test_choosing_a_missing_backend_names_the_package():
    code = NO_TFLITE + (
        "from edge.cli import main\n"
        "sys.exit(main(['run', '--source', 'sample', '--backend', 'litert']))\n"
    )
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert p.returncode == 3
    assert "pip install ai-edge-litert" in p.stderr and "Traceback" not in p.stderr
