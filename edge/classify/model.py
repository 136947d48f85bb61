"""A model artifact plus its description: float in, float probabilities out."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Sequence

import numpy as np

from ..backends import BackendUnavailable, open_backend
from ..description import DescriptionError, ModelDescription, mismatches

logger = logging.getLogger(__name__)


class Model:
    """Loads the backend once; `predict` quantizes the input and dequantizes the output when the model is int8."""

    def __init__(self, path: str | Path, backend: str | None = None, threads: int = 1,
                 providers: Sequence[str] | None = None) -> None:
        self.path = Path(path)
        if not self.path.is_file():
            raise FileNotFoundError(f"model file {self.path} not found; set models.face / models.voice to a model "
                                    "from `edge-convert quantize`, or reinstall edge-emotion for the bundled ones")
        self.path = self._fallback(self.path, backend)
        self.description = ModelDescription.load(self.path)
        try:
            self.backend = open_backend(self.path, backend=backend, threads=threads, providers=providers)
        except BackendUnavailable:
            raise
        except (ValueError, RuntimeError) as e:  # a damaged file: the runtime's own words name no file
            raise DescriptionError(f"{self.path}: the model cannot be loaded ({e}); re-export it with "
                                   "`edge-convert quantize`, or reinstall edge-emotion for a bundled one") from None
        self.labels = self.description.labels
        inp, out = self.backend.inputs[0], self.backend.outputs[0]
        wrong = mismatches(self.description, inp, out)
        if wrong:  # a wrong sidecar would otherwise fail at the first frame, or silently drop a class
            raise DescriptionError(f"{self.path.name}: {'; '.join(wrong)}; the sidecar belongs to another model "
                                   "(re-export it with `edge-convert quantize`)")
        # The interpreter's own quantization is authoritative; the description must agree with it.
        if inp.scale and self.description.input.scale and not np.isclose(inp.scale, self.description.input.scale):
            raise DescriptionError(f"{self.path.name}: description input scale {self.description.input.scale} "
                                   f"differs from the model's {inp.scale}; the sidecar belongs to another model")
        self._in, self._out = inp, out
        # A graph exported without its final softmax (an int8 SOFTMAX would run outside XNNPACK) says so in its
        # description; the probabilities are then computed here, in float.
        self.softmax = bool((self.description.raw.get("postprocess") or {}).get("softmax", False))

    @staticmethod
    def _fallback(path: Path, backend: str | None) -> Path:
        """A .tflite with no TFLite runtime installed -> its .onnx sibling when onnxruntime can run that."""
        if backend is not None or path.suffix != ".tflite":
            return path
        from ..backends import BACKENDS, SUFFIXES, BackendUnavailable, backend_class

        for name in BACKENDS:
            try:
                backend_class(name)
            except BackendUnavailable:
                continue
            if name in SUFFIXES[".tflite"]:
                return path
            onnx = path.with_suffix(".onnx")
            if onnx.is_file():
                logger.warning("no TFLite runtime installed (pip install ai-edge-litert); using %s with %s", onnx.name, name)
                return onnx
        return path

    @property
    def input_shape(self) -> tuple[int, ...]:
        return self._in.shape

    def quantize(self, x: np.ndarray) -> np.ndarray:
        """Float input -> the model's input dtype."""
        if self._in.scale:
            info = np.iinfo(self._in.dtype)
            q = np.round(x / self._in.scale + self._in.zero_point)
            return np.clip(q, info.min, info.max).astype(self._in.dtype)
        return x.astype(self._in.dtype, copy=False)

    def dequantize(self, y: np.ndarray) -> np.ndarray:
        if self._out.scale:
            return (y.astype(np.float32) - self._out.zero_point) * self._out.scale
        return y.astype(np.float32, copy=False)

    def predict(self, x: np.ndarray) -> np.ndarray:
        """Batch of preprocessed float inputs -> (N, classes) float probabilities."""
        y = self.dequantize(self.backend.run(self.quantize(x))[0])
        if not self.softmax:
            return y
        e = np.exp(y - y.max(1, keepdims=True))
        return e / e.sum(1, keepdims=True)

    def predict_raw(self, xq: np.ndarray) -> np.ndarray:
        """Batch already in the input dtype -> raw output (for benchmarks)."""
        return self.backend.run(xq)[0]


def check_model_file(path: str | Path, backend: str | None = None, unloadable_ok: bool = False) -> list[str]:
    """The model's real tensors against its sidecar, before anything runs (check-config, edge-bench): [] when they
    agree, else one line naming every mismatch and the fix.

    Opens the backend once; a missing runtime is left to `run` (exit 3); a damaged file is an error too, unless
    `unloadable_ok` (edge-bench marks its cases failed and goes on).
    """
    try:
        d = ModelDescription.load(path)
        b = open_backend(Path(path), backend=backend)
    except BackendUnavailable:
        return []
    except DescriptionError as e:
        return [str(e)]
    except (ValueError, RuntimeError) as e:
        return [] if unloadable_ok else [f"the model cannot be loaded ({e}); re-export it with `edge-convert quantize`"]
    wrong = mismatches(d, b.inputs[0], b.outputs[0])
    return [f"{'; '.join(wrong)}; the sidecar does not describe this model (correct it, or re-export the model "
            "with `edge-convert quantize`)"] if wrong else []
