"""A face model of your own, end to end: docs/models.md's worked example run as written (issue 22, items 1 and 7).

The test builds the toy model itself (64x64 RGB input, 8 labels with contempt, logits out), converts it with
`edge-convert quantize` on real face photos, and runs the result through `edge-emotion check-config` and `infer`.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from doc_example import doc_blocks, example_folder, sh

ROOT = Path(__file__).resolve().parents[1]
PHOTOS = ROOT.parent / "shared" / "datasets" / "face-photos" / "images"
LABELS = ["angry", "disgust", "fear", "happy", "sad", "surprise", "neutral", "contempt"]


def toy_model(path: Path, outputs: int = 8) -> Path:
    """64x64 RGB in, `outputs` logits out (no softmax): the shapes the shipped face model does not have."""
    keras = pytest.importorskip("keras")
    inp = keras.Input((64, 64, 3))
    x = keras.layers.Conv2D(8, 3, strides=2, activation="relu")(inp)
    x = keras.layers.Conv2D(16, 3, strides=2, activation="relu")(x)
    x = keras.layers.GlobalAveragePooling2D()(x)
    keras.Model(inp, keras.layers.Dense(outputs)(x)).save(path)
    return path


@pytest.fixture(scope="module")
def example(tmp_path_factory):
    """docs/models.md's face example, in a folder laid out as the doc assumes; the commands' results."""
    work = example_folder(tmp_path_factory, "own_face", PHOTOS, "*.jpg", 300,
                          {"face-photos": PHOTOS, "photo.jpg": min(PHOTOS.glob("*.jpg"), default=PHOTOS)})
    toy_model(work / "my_face.keras")
    blocks = doc_blocks("A face model of your own")
    (work / "my_face.toml").write_text(blocks["toml"][0])
    return work, [(line, sh(line, work)) for line in blocks["sh"][0].strip().splitlines()]


def test_the_doc_example_converts_with_eight_labels_and_logits(example):
    work, results = example
    line, quantize = results[0]
    assert line.startswith("edge-convert quantize") and quantize.returncode == 0, quantize.stderr[-2000:]
    assert "Traceback" not in quantize.stderr and "oneDNN" not in quantize.stderr
    for suffix in ("_int8.tflite", "_float32.tflite", "_int8.onnx", "_float32.onnx", "_float16.onnx"):
        assert (work / "models" / f"my_face{suffix}.json").is_file(), suffix
    side = json.loads((work / "models" / "my_face_int8.tflite.json").read_text())
    assert side["name"] == "my_face" and side["task"] == "face" and side["labels"] == LABELS
    assert side["preprocess"]["size"] == [64, 64] and side["preprocess"]["color"] == "rgb"
    assert side["postprocess"] == {"softmax": True}  # told logits from the outputs, no --outputs given
    assert side["input"]["shape"] == [1, 64, 64, 3] and side["output"]["shape"] == [1, 8]


def test_the_converted_model_passes_check_config_and_infer_reports_eight_labels(example):
    _, results = example
    (check_line, check), (infer_line, infer) = results[1], results[2]
    assert check_line.startswith("edge-emotion check-config") and check.returncode == 0, check.stdout + check.stderr
    assert "OK" in check.stdout
    assert infer_line.startswith("edge-emotion infer") and infer.returncode == 0, infer.stderr[-2000:]
    face = json.loads(infer.stdout.splitlines()[0])["faces"][0]
    assert list(face["probs"]) == LABELS
    assert abs(sum(face["probs"].values()) - 1.0) < 0.01 and min(face["probs"].values()) >= 0.0


def test_a_label_count_unlike_the_output_size_is_refused_in_one_line(example):
    work, _ = example
    r = sh("edge-convert quantize --model my_face.keras --labels angry,happy,sad --calib-dir face-photos/ "
           "--out wrong/ --stem wrong", work)
    err = r.stderr.strip()
    assert r.returncode == 2 and len(err.splitlines()) == 1 and "Traceback" not in err, err
    assert "3 labels given, the model outputs 8 scores" in err and not (work / "wrong").exists()


def test_too_few_photos_is_refused_naming_the_minimum(example):
    work, _ = example
    few = work / "few"
    few.mkdir()
    for photo in sorted(PHOTOS.glob("*.jpg"))[:3]:
        (few / photo.name).symlink_to(photo)
    r = sh("edge-convert quantize --model my_face.keras --labels " + ",".join(LABELS) +
           " --calib-dir few --out few_out/", work)
    err = r.stderr.strip()
    assert r.returncode == 2 and len(err.splitlines()) == 1 and "Traceback" not in err, err
    assert "at least 300" in err and "3 faces found in 3 images" in err


def test_probabilities_and_logits_are_told_apart():
    keras = pytest.importorskip("keras")
    import numpy as np

    from convert.quantize_cli import outputs_kind

    calib = np.random.default_rng(0).random((16, 8, 8, 3), np.float32)
    inp = keras.Input((8, 8, 3))
    flat = keras.layers.Flatten()(inp)
    by_activation = keras.Model(inp, keras.layers.Dense(4, activation="softmax")(flat))
    by_layer = keras.Model(inp, keras.layers.Softmax()(keras.layers.Dense(4)(flat)))
    by_values = keras.Model(inp, keras.layers.Lambda(lambda x: keras.ops.softmax(x))(keras.layers.Dense(4)(flat)))
    logits = keras.Model(inp, keras.layers.Dense(4)(flat))
    assert [outputs_kind(m, calib) for m in (by_activation, by_layer, by_values, logits)] == ["probs"] * 3 + ["logits"]


def test_per_channel_mean_and_std_become_the_runtime_scale_and_offset():
    import numpy as np

    from convert.face.photos import own_preprocess
    from edge.classify.face_preprocess import pixels_to_input

    spec = own_preprocess((4, 4, 3), 1 / 255, [0.485, 0.456, 0.406], [0.229, 0.224, 0.225], 0.15)
    pixels = np.random.default_rng(0).integers(0, 256, (2, 4, 4, 3), np.uint8)
    want = (pixels / 255.0 - [0.485, 0.456, 0.406]) / [0.229, 0.224, 0.225]
    assert np.allclose(pixels_to_input(pixels, spec), want, atol=1e-5)
    assert own_preprocess((4, 4, 1), 1 / 255, 0.0, 1.0, 0.15)["offset"] == 0.0
    with pytest.raises(ValueError, match="--mean has 3 values, the model's input has 1"):
        own_preprocess((4, 4, 1), 1 / 255, [0.5, 0.5, 0.5], 1.0, 0.15)


def test_a_per_channel_scale_unlike_the_input_channels_is_a_sidecar_mismatch():
    from types import SimpleNamespace

    import numpy as np

    from edge.description import ModelDescription, mismatches

    spec = {"shape": [1, 64, 64, 3], "dtype": "int8"}
    d = ModelDescription.from_dict({"schema": "edge-emotion/model/1", "name": "m", "task": "face", "version": "1",
                                    "format": "tflite", "precision": "int8", "labels": ["a", "b"], "input": spec,
                                    "output": {"shape": [1, 2], "dtype": "int8"},
                                    "preprocess": {"size": [64, 64], "color": "rgb", "scale": [0.1, 0.1],
                                                   "offset": 0.0}})
    inp = SimpleNamespace(shape=(1, 64, 64, 3), dtype=np.dtype("int8"))
    out = SimpleNamespace(shape=(1, 2), dtype=np.dtype("int8"))
    assert mismatches(d, inp, out) == ["preprocess.scale has 2 values, the model's input has 3 channel(s)"]
