"""edge-bench reports MACs counted from the model's graph, never the sidecar's figure (issue 22, item 4)."""

from __future__ import annotations

import json
import shutil

import pytest

from edge.bench import cli
from edge.description import description_path
from edge.bench.macs import graph_macs
from edge.paths import FACE_MODEL, MODELS_DIR
from tflite_backend import TFLITE

QUICK = ["--min-time", "0.02", "--warmup", "0.01", "--backend", TFLITE]


def test_graph_count_is_the_shipped_sidecars_figure():
    for name in ("face_int8.tflite", "face_large_int8.tflite", "voice_int8.tflite", "face_int8.onnx"):
        stated = json.loads(description_path(MODELS_DIR / name).read_text())["macs"]
        assert graph_macs(MODELS_DIR / name) == stated, name


def test_a_sidecar_with_the_wrong_macs_is_flagged_and_the_graph_count_reported(tmp_path, caplog):
    model = tmp_path / "mine_int8.tflite"
    shutil.copy(FACE_MODEL, model)
    d = json.loads(description_path(FACE_MODEL).read_text())
    truth = d["macs"]
    d["macs"] = 1_000_000  # a sidecar copied from a smaller model
    description_path(model).write_text(json.dumps(d))
    out = tmp_path / "r"
    with caplog.at_level("WARNING"):
        assert cli.main(["models", "--model", str(model), *QUICK, "--out", str(out)]) == 0
    (row,) = json.loads((out / "models.json").read_text())["results"]
    assert row["macs_m"] == pytest.approx(truth / 1e6, abs=0.05)
    assert row["macs_note"] == f"sidecar says 1,000,000 MACs, the graph has {truth:,}"
    assert "sidecar says 1,000,000 MACs" in caplog.text
