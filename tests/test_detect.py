"""Face detectors: values, anchors, the registry and its errors, odd inputs, the close-up retry."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from edge.description import DescriptionError
from edge.detect import Box, Detection, DetectorUnavailable, keep, make_detector
from edge.registry import DETECTORS
from edge.detect import ssd
from edge.detect.blazeface import BlazeFaceDetector
from edge.paths import MODELS_DIR
from edge.classify.face_preprocess import FACE_PREPROCESS, crop_with_margin

ROOT = Path(__file__).resolve().parents[1]
PHOTOS = ROOT.parent / "shared" / "datasets" / "face-photos" / "images"
needs_photos = pytest.mark.skipif(not PHOTOS.is_dir(), reason=f"face photos not found at {PHOTOS}")


def photo(name: str) -> np.ndarray:
    image = cv2.imread(str(PHOTOS / name), cv2.IMREAD_COLOR)
    assert image is not None, f"cannot read {PHOTOS / name}"
    return image


@pytest.fixture(scope="module")
def blazeface():
    return make_detector("blazeface")


def test_box_helpers():
    a, b = Box(0, 0, 10, 10), Box(5, 0, 10, 10)
    assert a.area == 100
    assert a.iou(b) == pytest.approx(50 / 150)
    assert a.iou(a) == 1.0
    assert a.iou(Box(20, 20, 5, 5)) == 0.0
    assert Box(0, 0, 0, 0).iou(Box(0, 0, 0, 0)) == 0.0
    assert Box(1, 2, 3, 4).scale(2) == Box(2, 4, 6, 8)
    assert Box(1, 2, 3, 4).scale(2, 3) == Box(2, 6, 6, 12)
    assert Box(-5, 2, 20, 4).clip(10, 5) == Box(0, 2, 10, 3)
    assert Box(1.4, 2.6, 10.5, 3.49).to_list() == [1, 3, 10, 3]
    d = Detection(Box(1, 2, 3, 4), 0.98765)
    assert d.to_dict() == {"box": [1, 2, 3, 4], "score": 0.9877}
    with pytest.raises(Exception):
        d.score = 0.1  # frozen: results are values


def test_keep_takes_the_largest_faces_above_the_minimum_size():
    dets = [Detection(Box(0, 0, w, w), 0.9) for w in (10, 50, 30, 80)]
    assert [d.box.w for d in keep(dets, 2)] == [80, 50]
    assert [d.box.w for d in keep(dets, 9, min_face_px=30)] == [80, 50, 30]


def test_anchor_counts_and_grid_match_the_models():
    for name, n, first_stride in (("blazeface_short_range", 896, 8), ("blazeface_full_range", 2304, 4)):
        d = json.loads((MODELS_DIR / f"{name}.tflite.json").read_text())
        size = d["input"]["shape"][1:3]
        anchors = ssd.ssd_anchors(size, **d["detection"]["anchors"])
        assert anchors.shape == (n, 4) == (d["output"]["shape"][1], 4)
        # first cell: centre half a stride from the corner; fixed-size anchors are 1x1
        assert anchors[0] == pytest.approx([first_stride / 2 / size[1], first_stride / 2 / size[0], 1, 1])
    # short range: 16x16 cells x 2 anchors, then 8x8 cells x 6 anchors (three stride-16 layers share one map)
    d = json.loads((MODELS_DIR / "blazeface_short_range.tflite.json").read_text())
    a = ssd.ssd_anchors([128, 128], **d["detection"]["anchors"])
    assert a[511, :2] == pytest.approx([15.5 / 16, 15.5 / 16])
    assert a[512, :2] == pytest.approx([0.5 / 8, 0.5 / 8])
    assert np.allclose(a[512:518, :2], a[512, :2])


def test_weighted_nms_merges_overlaps_and_keeps_separate_faces():
    boxes = np.array([[0, 0, 10, 10], [1, 0, 11, 10], [50, 50, 60, 60]], np.float32)
    kps = np.zeros((3, 1, 2), np.float32)
    kps[1] = 1.0
    out = ssd.weighted_nms(boxes, kps, np.array([0.9, 0.3, 0.8]), threshold=0.3)
    assert len(out) == 2
    merged, kp, score = out[0]
    assert score == 0.9  # the best score of the cluster, not an average
    assert merged == pytest.approx([0.25, 0, 10.25, 10])  # 0.9 * 0 + 0.3 * 1, over 1.2
    assert kp[0] == pytest.approx([0.25, 0.25])
    assert out[1][2] == 0.8


def test_no_face_in_generated_images_without_one():
    # Not raw per-pixel noise nor 16-pixel stripes: on those MediaPipe's own detector reports "faces" too
    # (0.67 on default_rng(0) noise at 640x480, 0.52 on the stripes; ours gives the same scores).
    rng = np.random.default_rng(0)
    images = {
        "blurred noise": cv2.GaussianBlur(rng.integers(0, 256, (480, 640, 3), dtype=np.uint8), (0, 0), 3),
        "blocks": cv2.resize(rng.integers(0, 256, (12, 16, 3), dtype=np.uint8), (640, 480),
                             interpolation=cv2.INTER_NEAREST),
        "flat": np.full((480, 640, 3), 128, np.uint8),
        "gradient": np.tile(np.linspace(0, 255, 640).astype(np.uint8)[None, :, None], (480, 1, 3)),
        "stripes": np.tile((np.arange(640) // 40 % 2 * 255).astype(np.uint8)[None, :, None], (480, 1, 3)),
    }
    for name in [n for n, e in DETECTORS.items() if e.extra is None]:  # those every install has
        det = make_detector(name)
        for what, image in images.items():
            assert det.detect(image) == [], f"{name} found a face in {what}"


@needs_photos
def test_non_square_frames_map_back_like_their_square_letterbox(blazeface):
    # A 400x1000 frame is seen as the 1000x1000 frame that pads it with black above and below (and a tall
    # frame likewise left and right); the boxes must come back in the non-square frame's own pixels.
    face = photo("Adrian_Fernandez_0001.jpg")
    for h, w, x, y in ((400, 1000, 600, 30), (1000, 400, 20, 620)):
        frame = np.full((h, w, 3), 96, np.uint8)
        frame[y:y + 350, x:x + 350] = face
        side = max(h, w)
        top, left = (side - h) // 2, (side - w) // 2
        square = np.zeros((side, side, 3), np.uint8)
        square[top:top + h, left:left + w] = frame
        (a,) = blazeface.detect(frame)
        (b,) = blazeface.detect(square)
        assert a.box.iou(Box(b.box.x - left, b.box.y - top, b.box.w, b.box.h)) > 0.98, (h, w)
        cx, cy = a.box.x + a.box.w / 2, a.box.y + a.box.h / 2
        assert x < cx < x + 350 and y < cy < y + 350, "the face is where it was pasted"


@needs_photos
def test_gray_and_bgra_inputs_give_the_same_faces(blazeface):
    bgr = photo("Adrian_Fernandez_0001.jpg")
    gray = cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY)
    (a,) = blazeface.detect(cv2.cvtColor(gray, cv2.COLOR_GRAY2BGR))
    (b,) = blazeface.detect(gray)
    (c,) = blazeface.detect(cv2.cvtColor(bgr, cv2.COLOR_BGR2BGRA))
    (d,) = blazeface.detect(bgr)
    assert a.box.iou(b.box) > 0.999 and c.box.iou(d.box) > 0.999


def test_tiny_images_do_not_break_detection(blazeface):
    for shape in ((1, 1, 3), (3, 5, 3), (2, 200, 3), (200, 2), (16, 16)):
        assert isinstance(blazeface.detect(np.full(shape, 100, np.uint8)), list)


@needs_photos
def test_tiny_real_face_is_found(blazeface):
    image = photo("HrithikRoshan_70.jpg")  # 29x23 pixels
    assert image.shape[:2] == (29, 23)
    (d,) = blazeface.detect(image)
    assert d.box.iou(Box(0, 0, 23, 29)) > 0.5


def test_bad_input_is_refused_with_the_reason(blazeface):
    with pytest.raises(ValueError, match="uint8"):
        blazeface.detect(np.zeros((64, 64, 3), np.float32))
    with pytest.raises(ValueError, match="empty"):
        blazeface.detect(np.zeros((0, 64, 3), np.uint8))
    with pytest.raises(ValueError, match="shape"):
        blazeface.detect(np.zeros((64, 64, 2), np.uint8))


@needs_photos
def test_close_up_is_found_by_the_second_look_with_a_border():
    # The face overflows this 350x350 photo; BlazeFace scores it below 0.5 until the frame gets a border.
    image = photo("Felix_Mantilla_0001.jpg")
    det = make_detector("blazeface")
    assert det.retry_margin == 0.25  # from the model's description
    (d,) = det.detect(image)
    assert d.score >= 0.5 and d.box.iou(Box(0, 0, 350, 350)) > 0.4
    det.retry_margin = 0.0
    assert det.detect(image) == []


@needs_photos
def test_detections_become_face_crops():
    image = photo("Adrian_Fernandez_0001.jpg")
    for name in ("blazeface", "haar"):
        (d,) = make_detector(name).detect(image)
        crop = crop_with_margin(image, d.box.to_list(), FACE_PREPROCESS["crop_margin"])
        assert min(crop.shape[:2]) >= 0.8 * min(d.box.w, d.box.h), name


def test_unknown_detector_names_the_choices():
    with pytest.raises(DetectorUnavailable, match=", ".join(DETECTORS)):
        make_detector("yolo")


def _python(code: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)


def test_missing_mediapipe_gives_the_install_command():
    # sys.modules[name] = None is how Python itself marks a module as not importable.
    r = _python("import sys; sys.modules['mediapipe'] = None\n"
                "from edge.detect import make_detector, DetectorUnavailable\n"
                "try:\n    make_detector('mediapipe')\nexcept DetectorUnavailable as e:\n    print(e)\n")
    assert r.returncode == 0, r.stderr
    assert "pip install 'edge-emotion[mediapipe]'" in r.stdout


def test_default_detector_imports_neither_mediapipe_nor_tensorflow():
    r = _python("import sys, cv2, numpy as np\nfrom edge.detect import make_detector\n"
                "make_detector('blazeface').detect(np.zeros((48, 64, 3), np.uint8))\n"
                "print(sorted(m for m in ('mediapipe', 'tensorflow', 'librosa') if m in sys.modules))")
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip().splitlines()[-1] == "[]"


def test_missing_model_file_is_named(tmp_path):
    with pytest.raises(FileNotFoundError, match="nothing.tflite"):
        BlazeFaceDetector(tmp_path / "nothing.tflite")


def test_description_of_another_model_is_refused(tmp_path):
    model = tmp_path / "blazeface_short_range.tflite"
    shutil.copy(MODELS_DIR / "blazeface_short_range.tflite", model)
    shutil.copy(MODELS_DIR / "blazeface_full_range.tflite.json", tmp_path / (model.name + ".json"))
    with pytest.raises(DescriptionError, match="belongs to another model"):
        BlazeFaceDetector(model)
    d = json.loads((MODELS_DIR / "blazeface_short_range.tflite.json").read_text())
    del d["detection"]["nms"]
    (tmp_path / (model.name + ".json")).write_text(json.dumps(d))
    with pytest.raises(DescriptionError, match="nms"):
        BlazeFaceDetector(model)


@needs_photos
def test_mediapipe_tasks_detector_agrees_with_the_numpy_decoder():
    pytest.importorskip("mediapipe.tasks.python.vision", reason="the mediapipe package is optional")
    theirs_det = make_detector("mediapipe")
    ours_det = make_detector("blazeface")
    ours_det.retry_margin = 0.0  # MediaPipe looks once
    try:
        for name in ("Adrian_Fernandez_0001.jpg", "Jan_Ullrich_0004.jpg", "Dileep_14.jpg"):
            image = photo(name)
            (ours,) = ours_det.detect(image)
            (theirs,) = theirs_det.detect(image)
            # the Tasks API clips boxes to the image and rounds them to whole pixels
            assert ours.box.clip(image.shape[1], image.shape[0]).iou(theirs.box) > 0.95, name
            assert abs(ours.score - theirs.score) < 0.02, name
    finally:
        theirs_det.close()  # mediapipe's own __del__ fails at interpreter exit
