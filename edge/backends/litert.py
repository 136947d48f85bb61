"""LiteRT (`ai-edge-litert`), the default backend for .tflite models."""

from __future__ import annotations

from ai_edge_litert.interpreter import Interpreter

from .tflite_common import InterpreterBackend


class LiteRTBackend(InterpreterBackend):
    name = "litert"
    interpreter_class = Interpreter
