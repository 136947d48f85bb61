"""onnxruntime for .onnx models; execution providers configurable (CUDA, TensorRT on a Jetson)."""

from __future__ import annotations

from typing import Sequence

import numpy as np
import onnxruntime as ort

from .base import BackendUnavailable, InferenceBackend, TensorInfo

_DTYPES = {"tensor(float)": np.float32, "tensor(int8)": np.int8, "tensor(uint8)": np.uint8}


class OnnxRuntimeBackend(InferenceBackend):
    name = "onnxruntime"
    formats = (".onnx",)

    def __init__(self, model_path: str, threads: int = 1, providers: Sequence[str] | None = None) -> None:
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = max(1, int(threads))
        opts.inter_op_num_threads = 1
        available = ort.get_available_providers()
        wanted = list(providers or ["CPUExecutionProvider"])
        missing = [p for p in wanted if p not in available]
        if missing:
            raise BackendUnavailable(f"onnxruntime here lacks {', '.join(missing)} (has {', '.join(available)})")
        self.session = ort.InferenceSession(str(model_path), sess_options=opts, providers=wanted)
        self.inputs = [self._info(i) for i in self.session.get_inputs()[:1]]
        self.outputs = [self._info(o) for o in self.session.get_outputs()]
        self._input_name = self.inputs[0].name
        # A graph exported for one sample (batch dimension fixed at 1, e.g. the OpenCV Zoo models) runs a batch
        # one sample at a time.
        self._one_at_a_time = self.session.get_inputs()[0].shape[:1] == [1]

    @staticmethod
    def _info(arg) -> TensorInfo:
        shape = tuple(s if isinstance(s, int) else 1 for s in arg.shape)  # symbolic batch -> 1
        return TensorInfo(arg.name, shape, np.dtype(_DTYPES.get(arg.type, np.float32)), 0.0, 0)

    def run(self, x: np.ndarray) -> list[np.ndarray]:
        if self._one_at_a_time and len(x) != 1:
            outs = [self.session.run(None, {self._input_name: x[i:i + 1]}) for i in range(len(x))]
            return [np.concatenate(o) for o in zip(*outs)]
        return self.session.run(None, {self._input_name: x})
