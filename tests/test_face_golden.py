"""The shipped int8 face models stay close to their float32 reference on 200 fixed FER2013 faces, on any CPU.

What is stable across CPUs is the float model's output, not the int8 label of a near-tie: different int8 kernels
(AVX2, AVX-512 VNNI, AMX, ARM NEON) round differently, so a face whose two best classes are almost equal may
change label on a new machine without anything being wrong. The tolerances come from the whole of PrivateTest
(3,573 faces since shared/ holds the original pixels; `edge-convert validate-face ...`, commands in benchmarks/reports/face_validation.md for the default model
and face_large_validation.md for face_large; this file passes on an emulated AVX2-only CPU too,
`qemu-x86_64-static -cpu Haswell-v4 .venv/bin/python -m pytest tests/test_face_golden.py`):

- a correct int8 artifact moves a probability by at most 0.078 (default, ONNX), 0.056 (default, TFLite), 0.039
  (face_large, ONNX, 7-bit weights) or 0.015 (face_large, TFLite) from its float model, and only faces whose float
  top-2 margin is below 0.075 (default) or 0.025 (face_large) changed label;
- onnxruntime's saturating AVX2 kernels (issue 10: 8-bit weights on a CPU without VNNI) changed the label of
  faces with large margins and agreed with float far less often (issue 10).

So: every face whose float margin is at least CONFIDENT_MARGIN (above the largest flipped margin of either family)
must keep the float label; no probability may move more than MAX_PROB_SHIFT; and the labels must agree with float
on at least MIN_AGREEMENT of the faces (measured on all of PrivateTest: default 98.41 % ONNX, 98.36 % TFLite;
face_large 98.97 % ONNX, 99.55 % TFLite).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from edge.bench.datasets import read_fer2013
from edge.description import ModelDescription
from edge.labels import FACE_LABELS
from edge.classify.model import Model
from edge.classify.face_preprocess import FACE_PREPROCESS, pixels_to_input, prepare_cut_faces

ROOT = Path(__file__).resolve().parents[1]
CSV = ROOT.parent / "shared" / "datasets" / "fer2013" / "fer2013.csv.gz"
MODELS = ROOT / "edge" / "models"
GOLDEN = json.loads((Path(__file__).parent / "data" / "face_golden.json").read_text())
ROWS = GOLDEN["rows"]

CONFIDENT_MARGIN = 0.10
MAX_PROB_SHIFT = 0.10
# face (version 3)'s int8 ONNX file (7-bit weights) moves further from its float model: on all of PrivateTest a
# probability moved at most 0.170 and the largest flipped margin was 0.172 (agreement 98.77 %; its int8 TFLite file:
# 0.088, 0.070, 99.05 %), benchmarks/reports/face_validation.md. Its bounds sit just above those maxima.
WIDER = {"face_int8.onnx": (0.18, 0.18)}
MIN_AGREEMENT = 0.97
ARTIFACTS = [f"{family}_int8{ext}" for family in GOLDEN["references"] for ext in (".tflite", ".onnx")]
# FER2013 PrivateTest accuracy (FER2013's own labels, original pixels) each family's sidecar must record; measured,
# int8 TFLite: face_v2 63.17 %, face_large 67.87 % (benchmarks/reports/face_v2_validation.md, face_large_validation.md);
# face (version 3, trained on the FER+ votes, which disagree with FER2013's labels on a third of the faces) 58.77 %
# (benchmarks/reports/face_validation.md; 82.80 % judged by the FER+ majority, face_validation_ferplus.md)
MIN_ACCURACY = {"face": 0.58, "face_v2": 0.62, "face_large": 0.67}


@pytest.fixture(scope="module")
def faces():
    if not CSV.is_file():
        pytest.skip(f"FER2013 not found at {CSV} (see ../shared/datasets/README.md)")
    # edge/'s reader, not convert/'s: this test also runs under Python 3.8 (make test-py38)
    x, y = read_fer2013(CSV, ("PrivateTest",), {"PrivateTest": {r["private_test_position"] for r in ROWS}})["PrivateTest"]
    assert [FACE_LABELS[int(t)] for t in y] == [r["true"] for r in ROWS], "the golden rows no longer match the dataset"
    return x


def prepared(faces: np.ndarray, spec: dict) -> np.ndarray:
    """The faces as the model takes them: aligned on BlazeFace's keypoints when its description says so, the way
    convert/face/task.py prepared them for training and make_face_golden.py for the float references."""
    return pixels_to_input(prepare_cut_faces(faces, spec), spec)


@pytest.mark.parametrize("name", ARTIFACTS)
def test_int8_model_stays_with_its_float_reference(faces, name):
    if name.endswith(".onnx"):
        pytest.importorskip("onnxruntime", reason="the onnxruntime backend is optional (pip install edge-emotion[onnx])")
    family = name.split("_int8")[0]
    ref = np.array([r["float32"][family] for r in ROWS], np.float32)
    model = Model(MODELS / name)
    probs = model.predict(prepared(faces, model.description.preprocess))
    assert probs.shape == ref.shape and np.allclose(probs.sum(1), 1.0, atol=0.05)  # softmax survives int8 output

    top2 = np.sort(ref, 1)[:, -2:]
    margin_bound, shift_bound = WIDER.get(name, (CONFIDENT_MARGIN, MAX_PROB_SHIFT))
    confident = top2[:, 1] - top2[:, 0] >= margin_bound
    got, want = probs.argmax(1), ref.argmax(1)
    flipped = [(ROWS[i]["private_test_position"], FACE_LABELS[want[i]], FACE_LABELS[got[i]])
               for i in np.flatnonzero(confident & (got != want))]
    assert not flipped, f"{name}: confident faces changed label (position, float, int8): {flipped}"
    shift = np.abs(probs - ref).max(1)
    assert shift.max() <= shift_bound, (f"{name}: a probability moved {shift.max():.3f} from float on face "
                                           f"{ROWS[int(shift.argmax())]['private_test_position']}")
    agreement = float((got == want).mean())
    assert agreement >= MIN_AGREEMENT, f"{name}: agrees with float on {agreement:.1%} of {len(ROWS)} faces"
    assert confident.sum() >= 0.7 * len(ROWS)  # the label check covers most faces, not a handful


def test_shipped_descriptions_are_int8_and_carry_the_preprocessing():
    for name in ARTIFACTS:
        d = ModelDescription.load(MODELS / name)
        assert d.labels == FACE_LABELS and d.precision == "int8"
        # measured on PrivateTest, written by `edge-convert quantize --metrics` and benchmarks/face_family.py
        assert d.raw["metrics"][name]["accuracy"] >= MIN_ACCURACY[name.split("_int8")[0]]
    # the default and face_v2 align on the keypoints; face_large (version 1) crops the box as it was trained
    assert ModelDescription.load(MODELS / "face_int8.tflite").preprocess == FACE_PREPROCESS
    assert ModelDescription.load(MODELS / "face_v2_int8.tflite").preprocess == FACE_PREPROCESS
    assert ModelDescription.load(MODELS / "face_large_int8.tflite").preprocess == \
        {k: v for k, v in FACE_PREPROCESS.items() if k != "align"}
    onnx = ModelDescription.load(MODELS / "face_int8.onnx").raw["quantization_scheme"]
    assert onnx["reduce_range"] and onnx["weight_type"] == "QInt8"  # 7-bit weights: no AVX2 saturation (issue 10)
    assert ModelDescription.load(MODELS / "face_int8.tflite").input.dtype == "int8"
    assert (MODELS / "face_int8.tflite").stat().st_size <= 1_000_000
