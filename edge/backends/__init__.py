"""Inference backends, a registry keyed by name; each vendor import stays in its own module."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Sequence

from ..registry import import_class
from .base import BackendUnavailable, InferenceBackend, TensorInfo

logger = logging.getLogger(__name__)

# name -> (module, class, pip package that provides it). Order is the preference.
BACKENDS = {
    "litert": ("edge.backends.litert", "LiteRTBackend", "ai-edge-litert"),
    "tflite-runtime": ("edge.backends.tflite_runtime", "TFLiteRuntimeBackend", "tflite-runtime"),
    "onnxruntime": ("edge.backends.onnxruntime", "OnnxRuntimeBackend", "onnxruntime"),
}
SUFFIXES = {".tflite": ("litert", "tflite-runtime"), ".onnx": ("onnxruntime",)}

__all__ = ["BACKENDS", "BackendUnavailable", "InferenceBackend", "TensorInfo", "backend_class", "open_backend"]


def backend_class(name: str) -> type[InferenceBackend]:
    """Import one backend; a missing library gives an error that names the package to install."""
    if name not in BACKENDS:
        raise BackendUnavailable(f"unknown backend {name!r}; choose one of {', '.join(BACKENDS)}")
    return import_class("backend", name, *BACKENDS[name], error=BackendUnavailable)


def open_backend(model_path: str | Path, backend: str | None = None, threads: int = 1,
                 providers: Sequence[str] | None = None) -> InferenceBackend:
    """Open a model with the named backend, or the first one installed that reads its format."""
    path = Path(model_path)
    if not path.is_file():
        raise FileNotFoundError(f"model file {path} not found")
    candidates = SUFFIXES.get(path.suffix)
    if candidates is None:
        raise BackendUnavailable(f"{path.name}: no backend reads {path.suffix!r} files (use .tflite or .onnx)")
    if backend:
        if backend not in candidates:
            raise BackendUnavailable(f"backend {backend!r} cannot read {path.suffix} models; use one of {', '.join(candidates)}")
        return backend_class(backend)(str(path), threads=threads, providers=providers)
    errors = []
    for name in candidates:
        try:
            cls = backend_class(name)
        except BackendUnavailable as e:
            logger.debug("skipping %s", e)
            errors.append(str(e))
            continue
        return cls(str(path), threads=threads, providers=providers)
    raise BackendUnavailable(f"no backend installed for {path.name}: " + "; ".join(errors))
