"""What LiteRT and tflite-runtime share: they expose the same Interpreter API."""

from __future__ import annotations

from typing import Sequence

import numpy as np

from .base import InferenceBackend, TensorInfo


def _info(d: dict) -> TensorInfo:
    scale, zero_point = d.get("quantization", (0.0, 0))
    return TensorInfo(d["name"], tuple(int(s) for s in d["shape"]), np.dtype(d["dtype"]), float(scale), int(zero_point))


class InterpreterBackend(InferenceBackend):
    formats = (".tflite",)
    interpreter_class = None  # set by the subclass after its import succeeded

    def __init__(self, model_path: str, threads: int = 1, providers: Sequence[str] | None = None) -> None:
        self.interpreter = self.interpreter_class(model_path=str(model_path), num_threads=max(1, int(threads)))
        self._in = self.interpreter.get_input_details()[0]
        self._shape: tuple[int, ...] | None = tuple(int(s) for s in self._in["shape"])
        try:
            self.interpreter.allocate_tensors()
        except RuntimeError:
            # A graph whose input length is free (the speech embedding's mel front end, declared [1, 1]) cannot be
            # planned at its placeholder shape; it is planned at the first run's shape instead.
            if all(int(s) > 0 for s in self._in.get("shape_signature", self._in["shape"])[1:]):
                raise
            self._shape = None
        self._out = self.interpreter.get_output_details()
        self.inputs = [_info(self._in)]
        self.outputs = [_info(d) for d in self._out]

    def run(self, x: np.ndarray) -> list[np.ndarray]:
        if x.shape != self._shape:
            # Resizing re-plans the graph: done only when the input shape (in practice the batch) changes.
            self.interpreter.resize_tensor_input(self._in["index"], list(x.shape))
            self.interpreter.allocate_tensors()
            self._shape = x.shape
        self.interpreter.set_tensor(self._in["index"], x)
        self.interpreter.invoke()
        return [self.interpreter.get_tensor(d["index"]) for d in self._out]
