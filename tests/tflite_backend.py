"""The TFLite backend this environment has: LiteRT on Python 3.9+, tflite-runtime on 3.8 (a Jetson Nano's).

Tests that exercise one TFLite backend take `TFLITE`, so the same test runs in the main environment and in
the Python 3.8 one (`make test-py38`); `OTHER` is the backend that is not used there.
"""

from __future__ import annotations

from edge.backends import BackendUnavailable, backend_class
from edge.registry import BACKENDS

# The vendor module each TFLite backend imports (setting it to None in sys.modules makes it "missing").
MODULES = {"litert": "ai_edge_litert", "tflite-runtime": "tflite_runtime"}


def _installed(name: str) -> bool:
    try:
        backend_class(name)
        return True
    except BackendUnavailable:
        return False


TFLITE = next((name for name in MODULES if _installed(name)), "litert")
OTHER = next(name for name in MODULES if name != TFLITE)
PACKAGE = BACKENDS[TFLITE].extra
OTHER_PACKAGE = BACKENDS[OTHER].extra
