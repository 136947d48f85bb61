"""Where the bundled models and the demo clip live (package data)."""

from __future__ import annotations

from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
MODELS_DIR = PACKAGE_DIR / "models"
SAMPLE_DIR = PACKAGE_DIR / "sample"

# Bundled models by task and name (`models.face = "face_large"`): each name is an int8 .tflite in edge/models/
# with an .onnx twin, which `models.backend = "onnxruntime"` picks. The first name of each task is its default.
# face: version 3 (57 M MACs per face, FER+ votes); face_v2: version 2 (25 M MACs); face_large: version 1 (436 M MACs,
# in-graph mirror average). voice: version 3 (functionals + the speech embedding, whose two files
# speech_embedding_mel.* and speech_embedding.* sit beside it; Emo-DB, RAVDESS, nEMO); voice_v2: version 2 (functionals).
BUNDLED: dict[str, dict[str, str]] = {
    "face": {"face": "face_int8", "face_v2": "face_v2_int8", "face_large": "face_large_int8"},
    "voice": {"voice": "voice_int8", "voice_v2": "voice_v2_int8"},
    "text": {"text": "text_int8"},
}
FACE_MODELS = BUNDLED["face"]
FACE_MODEL = MODELS_DIR / "face_int8.tflite"
VOICE_MODEL = MODELS_DIR / "voice_int8.tflite"
TEXT_MODEL = MODELS_DIR / "text_int8.tflite"
SAMPLE_VIDEO = SAMPLE_DIR / "demo.mp4"
SAMPLE_AUDIO = SAMPLE_DIR / "demo.wav"


def bundled_name(task: str, configured: str) -> str | None:
    """The bundled name `configured` stands for (empty: the task's default), or None for a file path."""
    names = BUNDLED[task]
    name = configured or next(iter(names))
    return name if name in names else None


def resolve_model(task: str, configured: str, backend: str | None = None) -> Path:
    """The one resolver of `models.<task>`: a bundled name (empty: the default) or a file path.

    A bundled name gives its .onnx twin when the backend is onnxruntime and its .tflite otherwise, so
    `backend = "onnxruntime"` alone moves every bundled model to onnxruntime. Preflight, the channels (`run`,
    `infer`, `edge-bench pipeline`) and `edge-bench models --model NAME` all call this.
    """
    name = bundled_name(task, configured)
    if name is not None:
        return MODELS_DIR / (BUNDLED[task][name] + (".onnx" if backend == "onnxruntime" else ".tflite"))
    return Path(configured).expanduser()


def resolve_any(spec: str, backend: str | None = None) -> Path:
    """A bundled name of any task, or a path (`edge-bench models --model face_large`)."""
    for task, names in BUNDLED.items():
        if spec in names:
            return resolve_model(task, spec, backend)
    return Path(spec).expanduser()
