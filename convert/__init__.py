"""Workstation stage: train, quantize and validate the models that edge/ runs.

`face/`, `voice/` and `text/` hold each model's data, training and validation; the modules beside them (quantize,
report, macs, dequantize, cli) serve all three, and `clips/` builds the sample clips.
"""

from __future__ import annotations

from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DATASETS = REPO.parent / "shared" / "datasets"  # the shared datasets live beside the checkout, never inside it
