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
        self.interpreter.allocate_tensors()
        self._in = self.interpreter.get_input_details()[0]
        self._out = self.interpreter.get_output_details()
        self.inputs = [_info(self._in)]
        self.outputs = [_info(d) for d in self._out]
        self._batch = int(self._in["shape"][0])

    def run(self, x: np.ndarray) -> list[np.ndarray]:
        if x.shape[0] != self._batch:
            # Resizing re-plans the graph: done only when the batch size changes.
            self.interpreter.resize_tensor_input(self._in["index"], list(x.shape))
            self.interpreter.allocate_tensors()
            self._batch = x.shape[0]
        self.interpreter.set_tensor(self._in["index"], x)
        self.interpreter.invoke()
        return [self.interpreter.get_tensor(d["index"]) for d in self._out]
