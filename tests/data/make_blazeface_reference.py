"""Write tests/data/blazeface_reference.json: face boxes from the mediapipe package's own detector.

The reference must not come from the code under test (edge/detect/blazeface.py), so it is
produced by mediapipe 0.10.14's legacy `mp.solutions.face_detection`, whose C++ graph holds
its own anchors, decoding and non-maximum suppression. That version is not a project
dependency; run this in a throwaway environment outside the repository:

    python3.11 -m venv /tmp/mpvenv
    /tmp/mpvenv/bin/pip download mediapipe==0.10.14 --no-deps -d /tmp/mpw
    /tmp/mpvenv/bin/pip install --no-deps /tmp/mpw/mediapipe-0.10.14-*.whl
    /tmp/mpvenv/bin/pip install "numpy<2" "protobuf>=4.25,<5" absl-py attrs flatbuffers \
        opencv-python-headless matplotlib
    /tmp/mpvenv/bin/python tests/data/make_blazeface_reference.py [--all OUT.json]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import cv2
import mediapipe as mp

sys.path.insert(0, str(Path(__file__).resolve().parent))
from scenes import compose, scene_specs  # noqa: E402

PHOTOS = Path(__file__).resolve().parents[2].parent / "shared" / "datasets" / "face-photos" / "images"
OUT = Path(__file__).resolve().parent / "blazeface_reference.json"
EVERY = 8  # every 8th photo in name order: 39 photos, both the 350x350 gray ones and the small colour crops
MIN_SCORE = 0.5  # mediapipe's default min_detection_confidence, also this project's default min_score


def detect(fd, image) -> list[dict]:
    """Boxes [x, y, w, h] and keypoints in pixels of the original image, as mediapipe reports them."""
    h, w = image.shape[:2]
    r = fd.process(cv2.cvtColor(image, cv2.COLOR_BGR2RGB))
    out = []
    for d in r.detections or []:
        b = d.location_data.relative_bounding_box
        out.append({
            "score": round(float(d.score[0]), 4),
            "box": [round(b.xmin * w, 2), round(b.ymin * h, 2), round(b.width * w, 2), round(b.height * h, 2)],
            "keypoints": [[round(k.x * w, 2), round(k.y * h, 2)] for k in d.location_data.relative_keypoints],
        })
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--all", type=Path, help="also write the detections of every photo to this file")
    args = ap.parse_args()
    names = sorted(p.name for p in PHOTOS.iterdir() if p.suffix.lower() in (".jpg", ".jpeg", ".png"))
    detectors = {
        "blazeface": mp.solutions.face_detection.FaceDetection(model_selection=0, min_detection_confidence=MIN_SCORE),
        "blazeface-full": mp.solutions.face_detection.FaceDetection(model_selection=1, min_detection_confidence=MIN_SCORE),
    }
    everything = {k: {} for k in detectors}
    for name in names:
        image = cv2.imread(str(PHOTOS / name), cv2.IMREAD_COLOR)
        for key, fd in detectors.items():
            everything[key][name] = detect(fd, image)
    picked = names[::EVERY]
    scenes = scene_specs(picked)
    for spec in scenes:
        photo = cv2.imread(str(PHOTOS / spec["photo"]), cv2.IMREAD_COLOR)
        frame = compose(photo, tuple(spec["canvas"]), spec["face_width"], tuple(spec["at"]))
        spec["detections"] = {key: detect(fd, frame) for key, fd in detectors.items()}
    ref = {
        "provenance": (f"mediapipe {mp.__version__} mp.solutions.face_detection (model_selection 0 = blazeface, "
                       f"1 = blazeface-full), min_detection_confidence {MIN_SCORE}, on every {EVERY}th photo of "
                       "shared/datasets/face-photos/images in name order, read with cv2.IMREAD_COLOR; "
                       "and on far-face scenes made from them by tests/data/scenes.py; "
                       "written by tests/data/make_blazeface_reference.py"),
        "min_score": MIN_SCORE,
        "photos": {k: {n: v[n] for n in picked} for k, v in everything.items()},
        "scenes": scenes,
    }
    OUT.write_text(json.dumps(ref, indent=1) + "\n")
    if args.all:
        args.all.write_text(json.dumps(everything))
    for key, v in everything.items():
        found = sum(1 for d in v.values() if d)
        print(f"{key}: a face in {found}/{len(v)} photos; fixture: {len(picked)} photos -> {OUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
