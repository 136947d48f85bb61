"""Regenerate tests/data/face_photos_golden.json: the default face model's label for the first 5 photos of each
class of face-photos, end to end (BlazeFace, alignment, int8 model through the face channel).

Usage (after the default face model changes; review the diff):  python tests/data/make_face_photos_golden.py
"""

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from edge.channels.face import FaceChannel  # noqa: E402
from edge.config import Config  # noqa: E402
from test_face_models import _photos  # noqa: E402  the test's own choice of photos


def main() -> None:
    channel = FaceChannel.from_config(Config())
    labels = {}
    for name, img in _photos(5):
        faces = channel.faces(img, {})
        labels[name] = faces[0].emotion if faces else None
    out = {"about": "labels of the default face model (edge/models/face_int8.tflite) for the first 5 photos of each "
                    "class of ../shared/datasets/face-photos, end to end; tests/data/make_face_photos_golden.py",
           "labels": labels}
    (Path(__file__).parent / "face_photos_golden.json").write_text(json.dumps(out, indent=1) + "\n")


if __name__ == "__main__":
    main()
