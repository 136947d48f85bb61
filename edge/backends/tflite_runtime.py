"""tflite-runtime, the fallback for systems LiteRT has no wheel for (older Jetsons, 32-bit Pis)."""

from __future__ import annotations

from tflite_runtime.interpreter import Interpreter

from .tflite_common import InterpreterBackend


class TFLiteRuntimeBackend(InterpreterBackend):
    name = "tflite-runtime"
    interpreter_class = Interpreter
