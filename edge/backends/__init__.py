"""Inference backends, registered by name in edge/registry.py; each vendor import stays in its own module."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Sequence

from ..registry import BACKENDS, formats, load
from .base import BackendUnavailable, InferenceBackend, TensorInfo

logger = logging.getLogger(__name__)

SUFFIXES = formats(BACKENDS)  # model suffix -> the backends that read it, in order of preference

__all__ = ["BACKENDS", "BackendUnavailable", "InferenceBackend", "TensorInfo", "backend_class", "open_backend"]


def backend_class(name: str) -> type[InferenceBackend]:
    """Import one backend; a missing library gives an error that names the package to install."""
    return load(BACKENDS, name, "backend", BackendUnavailable)


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
