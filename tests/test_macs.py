"""Every shipped sidecar carries `macs`, equal to the count from the model's own .tflite graph."""

from __future__ import annotations

import json

import pytest

pytest.importorskip("ai_edge_litert", reason="MACs are counted through LiteRT's interpreter: pip install ai-edge-litert")

from convert.macs import _tflite_twin, tflite_macs  # noqa: E402
from edge.paths import MODELS_DIR  # noqa: E402


def test_every_sidecar_has_the_macs_of_its_graph():
    counts = {}
    for side in sorted(MODELS_DIR.glob("*.json")):
        model = side.with_suffix("")
        twin = _tflite_twin(model)
        counts.setdefault(twin, tflite_macs(twin))
        got = json.loads(side.read_text()).get("macs")
        assert got == counts[twin], f"{side.name}: macs {got}, graph {counts[twin]}; run `edge-convert macs {model}`"

