"""Where the bundled models and the demo clip live (package data)."""

from __future__ import annotations

from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
MODELS_DIR = PACKAGE_DIR / "models"
SAMPLE_DIR = PACKAGE_DIR / "sample"

FACE_MODEL = MODELS_DIR / "face_int8.tflite"
VOICE_MODEL = MODELS_DIR / "voice_int8.tflite"
TEXT_MODEL = MODELS_DIR / "text_int8.tflite"
SAMPLE_VIDEO = SAMPLE_DIR / "demo.mp4"
SAMPLE_AUDIO = SAMPLE_DIR / "demo.wav"


def model_path(configured: str, default: Path) -> Path:
    """The configured model file, or the bundled one when the setting is empty."""
    return Path(configured).expanduser() if configured else default
