"""Where the bundled models and the demo clip live (package data)."""

from __future__ import annotations

from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
MODELS_DIR = PACKAGE_DIR / "models"
SAMPLE_DIR = PACKAGE_DIR / "sample"

# Bundled face models by name (`models.face = "face_large"`): each is an int8 .tflite with an .onnx twin.
# face: the default (compact, about 25 M MACs per face); face_large: version 1 (436 M MACs, in-graph mirror average).
FACE_MODELS = {"face": "face_int8", "face_large": "face_large_int8"}
FACE_MODEL = MODELS_DIR / "face_int8.tflite"
VOICE_MODEL = MODELS_DIR / "voice_int8.tflite"
TEXT_MODEL = MODELS_DIR / "text_int8.tflite"
SAMPLE_VIDEO = SAMPLE_DIR / "demo.mp4"
SAMPLE_AUDIO = SAMPLE_DIR / "demo.wav"


def model_path(configured: str, default: Path, bundled: dict | None = None, backend: str | None = None) -> Path:
    """The configured model: a bundled name (the .onnx twin for onnxruntime), a file path, or `default` when empty."""
    if bundled and configured in bundled:
        return MODELS_DIR / (bundled[configured] + (".onnx" if backend == "onnxruntime" else ".tflite"))
    return Path(configured).expanduser() if configured else default
