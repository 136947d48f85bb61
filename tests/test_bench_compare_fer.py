"""benchmarks/compare_fer.py: label mapping, scoring and the edge-emotion side on real photos (fer itself lives in .bench-venv)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def cf():
    spec = importlib.util.spec_from_file_location("compare_fer", ROOT / "benchmarks" / "compare_fer.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    if not (mod.PHOTOS / "labels.csv").is_file():
        pytest.skip(f"{mod.PHOTOS} not present")
    return mod


def test_every_photo_label_maps_to_a_face_label(cf):
    from edge.labels import FACE_LABELS

    photos = cf.load_photos(cf.PHOTOS, None)
    assert len(photos) == 310
    assert {label for _, _, label in photos} <= set(FACE_LABELS)
    assert all(img.ndim == 3 and img.shape[2] == 3 for _, img, _ in photos[:10])


def test_scores_count_a_missed_face_as_wrong(cf):
    s = cf.scores(["happy", None, "sad", "sad"], ["happy", "happy", "sad", "angry"])
    assert s["face_found_rate"] == 0.75 and s["accuracy"] == 0.5
    assert s["accuracy_where_found"] == pytest.approx(2 / 3)
    assert s["per_class_accuracy"] == {"angry": 0.0, "happy": 0.5, "sad": 1.0}


def test_edge_side_classifies_real_photos(cf):
    from edge.paths import FACE_MODEL

    if not FACE_MODEL.exists():
        pytest.skip(f"{FACE_MODEL} not present")
    photos = cf.load_photos(cf.PHOTOS, 8)
    runner = cf.EdgeRunner(None, "blazeface")
    res = cf.run(photos, [runner], rounds=1, warmup=1)["edge-emotion"]
    assert len(res["ms"]) == 8 and all(ms > 0 for ms in res["ms"])
    assert sum(p is not None for p in res["pred"]) >= 7  # BlazeFace finds the face in nearly every photo


def test_without_fer_installed_the_error_names_the_setup_script(cf):
    if importlib.util.find_spec("fer") is not None:
        pytest.skip("fer is installed in this environment")
    with pytest.raises(SystemExit, match="setup_fer_env.sh"):
        cf.FerRunner()


def test_missing_photo_folder_is_a_clear_error(cf, tmp_path):
    with pytest.raises(SystemExit, match="labels.csv"):
        cf.load_photos(tmp_path, None)
