"""The real-photo teachers (teach-face): real models from ../shared/models on real FER2013 faces, label order checked."""

from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("cv2")
pytest.importorskip("onnxruntime")

from convert.face import ferplus, teachers  # noqa: E402
from convert.face.align import keypoints  # noqa: E402
from convert.face.fer2013 import cached_rows  # noqa: E402
from convert.report import metrics  # noqa: E402
from edge.bench.datasets import read_fer2013  # noqa: E402
from edge.labels import FACE_LABELS  # noqa: E402

FER = Path(__file__).resolve().parents[2] / "shared" / "datasets" / "fer2013"
PER_CLASS = 12  # faces per class whose FER+ majority is that class


@pytest.fixture(scope="module")
def faces():
    if not (FER / "ferplus.csv").is_file() or not all(t.default_path.is_file() for t in teachers.TEACHERS.values()):
        pytest.skip("shared FER2013, FER+ votes or teacher models not present")
    x, _ = read_fer2013(FER / "fer2013.csv.gz", ("PublicTest",))["PublicTest"]
    y = ferplus.majority(ferplus.load_votes(FER / "ferplus.csv")["PublicTest"])
    pick = np.concatenate([np.flatnonzero(y == c)[:PER_CLASS] for c in range(len(FACE_LABELS))])
    return x[pick], y[pick]


@pytest.mark.parametrize("name", sorted(teachers.TEACHERS))
def test_teacher_probabilities_in_face_label_order(faces, name):
    x, y = faces
    t = teachers.TEACHERS[name]
    p = teachers.probabilities(t, t.default_path, x, keypoints(x) if t.aligned else None)
    assert p.shape == (len(x), len(FACE_LABELS)) and p.dtype == np.float32
    np.testing.assert_allclose(p.sum(1), 1.0, atol=1e-4)
    m = metrics(y, p.argmax(1), FACE_LABELS)
    # Both read clear happy and surprised faces (FER+ majority) well when the label order is mapped right; a
    # shuffled order would put these near chance (1/7).
    assert m["recall"]["happy"] >= 0.75, m["recall"]
    assert m["recall"]["surprise"] >= 0.5, m["recall"]
    assert m["accuracy"] >= 0.4, m["accuracy"]


def test_cached_rows_are_reused_and_wrong_shapes_redone(tmp_path):
    calls = []

    def make():
        calls.append(1)
        return np.full((3, len(FACE_LABELS)), 1 / len(FACE_LABELS), np.float32)

    path = tmp_path / "t.npy"
    cached_rows(path, (3, len(FACE_LABELS)), make)
    cached_rows(path, (3, len(FACE_LABELS)), make)
    assert len(calls) == 1
    cached_rows(path, (4, len(FACE_LABELS)), lambda: np.zeros((4, len(FACE_LABELS)), np.float32))
    assert np.load(path).shape == (4, len(FACE_LABELS))


def test_unknown_teacher_is_named(tmp_path):
    from convert.cli import main

    with pytest.raises(SystemExit, match="--teacher nosuch: unknown; choose from faceapi, opencv-zoo"):
        main(["teach-face", "--data", str(FER / "fer2013.csv.gz"), "--out", str(tmp_path), "--teacher", "nosuch"])
