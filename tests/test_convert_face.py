"""Training smoke run and quantization round trip: `edge-convert train-face`, then `export_all`, read back through edge/."""

import json

import numpy as np
import pytest

pytest.importorskip("tensorflow", reason="the convert extra is not installed: pip install -e .[convert]")

from convert.cli import main  # noqa: E402
from convert.face.fer2013 import Split, save_npz  # noqa: E402
from convert.quantize import TARGETS, CalibrationError, export_all  # noqa: E402
from convert.report import metrics  # noqa: E402
from convert.face.validate import evaluate  # noqa: E402
from edge.description import REQUIRED, ModelDescription  # noqa: E402
from edge.labels import FACE_LABELS  # noqa: E402
from edge.classify.model import Model  # noqa: E402
from edge.classify.face_preprocess import FACE_PREPROCESS, pixels_to_input  # noqa: E402

# Quantizing a model costs at most this much probability per class: int8 steps are 1/256 of the
# output range, a few steps of accumulated rounding stay far below it (0.003 measured on the smoke model).
MAX_PROB_DIFF = 0.05


def _faces(n, seed):
    """Faces whose class sets a bright block's position, so even one epoch learns something."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, len(FACE_LABELS), n)
    x = rng.integers(0, 80, (n, 48, 48)).astype(np.uint8)
    for i, label in enumerate(y):
        x[i, 6 * label:6 * label + 8, 10:38] = 220
    return Split(x, y)


@pytest.fixture(scope="module")
def smoke(tmp_path_factory):
    """One short epoch of the seed baseline on 320 generated faces, then all four exports."""
    root = tmp_path_factory.mktemp("face")
    data = save_npz({"Training": _faces(320, 0), "PublicTest": _faces(96, 1)}, root / "faces.npz")
    rc = main(["train-face", "--data", str(data), "--out", str(root / "run"), "--arch", "baseline", "--epochs", "1",
               "--batch-size", "64", "--verbose", "0"])
    assert rc == 0
    calib = pixels_to_input(_faces(300, 2).x)
    desc = {"name": "face", "task": "face", "version": "test", "labels": list(FACE_LABELS), "preprocess": FACE_PREPROCESS,
            "training_data": {"dataset": "generated"}, "metrics": {}}
    paths = export_all(root / "run" / "face.keras", calib, root / "q", "face", desc)
    return root, paths


def test_training_writes_model_history_and_confusion(smoke):
    root, _ = smoke
    run = root / "run"
    for name in ("face.keras", "checkpoint.keras", "history.json", "confusion_publictest.png", "summary.json"):
        assert (run / name).is_file(), name
    history = json.loads((run / "history.json").read_text())
    assert len(history) == 1 and {"loss", "val_accuracy", "lr"} <= set(history[0])


def test_resume_continues_from_the_checkpoint(smoke):
    root, _ = smoke
    data = root / "faces.npz"
    rc = main(["train-face", "--data", str(data), "--out", str(root / "run"), "--arch", "baseline", "--epochs", "2",
               "--batch-size", "64", "--verbose", "0", "--resume"])
    assert rc == 0
    assert [h["epoch"] for h in json.loads((root / "run" / "history.json").read_text())] == [1, 2]
    # --reschedule: the schedule now ends at --epochs 3 (state.json says so; the run stops there)
    rc = main(["train-face", "--data", str(data), "--out", str(root / "run"), "--arch", "baseline", "--epochs", "3",
               "--batch-size", "64", "--verbose", "0", "--resume", "--reschedule"])
    history = json.loads((root / "run" / "history.json").read_text())
    assert rc == 0 and [h["epoch"] for h in history] == [1, 2, 3]
    assert json.loads((root / "run" / "state.json").read_text())["epochs"] == 3


def test_every_target_has_a_complete_description(smoke):
    _, paths = smoke
    assert set(paths) == set(TARGETS)
    for target, path in paths.items():
        raw = json.loads(path.with_name(path.name + ".json").read_text())
        assert set(REQUIRED) <= set(raw), target
        d = ModelDescription.load(path)
        assert d.labels == FACE_LABELS and d.preprocess == FACE_PREPROCESS and d.input.shape[1:] == (48, 48, 1)
        assert raw["training_data"] == {"dataset": "generated"} and d.precision == TARGETS[target].precision


def test_tflite_int8_is_int8_in_and_out(smoke):
    _, paths = smoke
    d = ModelDescription.load(paths["tflite-int8"])
    assert d.input.dtype == "int8" and d.output.dtype == "int8"
    assert d.input.scale > 0 and d.output.scale > 0
    model = Model(paths["tflite-int8"])
    assert model.backend.inputs[0].dtype == np.int8 and model.backend.outputs[0].dtype == np.int8
    assert np.isclose(model.backend.inputs[0].scale, d.input.scale)


@pytest.mark.parametrize("fmt", ["tflite", "onnx"])
def test_int8_agrees_with_float(smoke, fmt):
    _, paths = smoke
    x = pixels_to_input(_faces(200, 3).x)
    p32 = Model(paths[f"{fmt}-float32"]).predict(x)
    p8 = Model(paths[f"{fmt}-int8"]).predict(x)
    assert np.abs(p8 - p32).max() < MAX_PROB_DIFF


def test_validate_compares_each_int8_with_its_float_twin(smoke):
    _, paths = smoke
    faces = _faces(64, 4)
    rows, checks = evaluate(list(paths.values()), pixels_to_input(faces.x), faces.y, FACE_LABELS, latency_seconds=0.05)
    assert [r["file"] for r in rows] == [p.name for p in paths.values()]
    # int8 vs its float twin, per format, and the two int8 formats against each other (issue 10)
    assert sorted(c["name"] for c in checks) == ["face_int8.onnx within 0.5 point of face_int8.tflite",
                                                 "face_int8.onnx within 1.0 point of face_float32.onnx",
                                                 "face_int8.tflite within 1.0 point of face_float32.tflite"]
    assert all(r["latency_ms"]["p50"] > 0 for r in rows)
    for r in rows:
        if r["precision"] == "int8":
            assert 0.0 <= r["prob_shift_p99"] <= r["prob_shift_max"] < MAX_PROB_DIFF
            assert r["flipped"] == round((1 - r["agreement"]) * 64) and 0.0 <= r["flip_margin_max"] < 2 * MAX_PROB_DIFF


def test_too_few_calibration_samples_are_refused(smoke, tmp_path):
    root, _ = smoke
    with pytest.raises(CalibrationError, match="at least 300"):
        export_all(root / "run" / "face.keras", np.zeros((299, 48, 48, 1), np.float32), tmp_path, "x", {})


def test_metrics_by_hand():
    m = metrics(np.array([0, 0, 1, 1]), np.array([0, 1, 1, 1]), ("a", "b"))
    assert m["accuracy"] == 0.75 and m["recall"] == {"a": 0.5, "b": 1.0} and m["uar"] == 0.75
    assert m["macro_f1"] == pytest.approx((2 / 3 + 0.8) / 2)  # F1(a) = 2/3, F1(b) = 0.8


def test_bf16_trained_model_is_rebuilt_in_float32_for_the_converters():
    """A model trained with --precision bf16 keeps Keras' mixed_bfloat16 policy per layer, which the TFLite converter
    cannot lower (ERROR_NEEDS_FLEX_OPS); float32_model rebuilds the same graph in float32 with the same weights."""
    import keras

    from convert.face.models import ARCHS
    from convert.quantize import float32_model

    keras.mixed_precision.set_global_policy("mixed_bfloat16")
    try:
        mixed = ARCHS["compact"]()
    finally:
        keras.mixed_precision.set_global_policy("float32")
    assert any(layer.dtype_policy.name == "mixed_bfloat16" for layer in mixed.layers)
    plain = float32_model(mixed)
    assert all(layer.dtype_policy.name == "float32" for layer in plain.layers)
    x = pixels_to_input(_faces(8, 3).x)
    got, want = plain.predict(x, verbose=0), mixed.predict(x, verbose=0).astype(np.float32)
    assert got.dtype == np.float32 and np.abs(got - want).max() < 0.05  # bf16 keeps 8 bits of mantissa
    assert float32_model(plain) is plain
