"""Far-face scenes built from the face photos: one photo shrunk and pasted into a larger, non-square frame.

Used by make_blazeface_reference.py (under the mediapipe package) and by tests/test_detect_reference.py
(under edge.detect), so both sides see exactly the same pixels.
"""

from __future__ import annotations

import cv2
import numpy as np

BACKGROUND = 96  # flat mid-gray: no texture that could look like a face


def compose(photo: np.ndarray, canvas: tuple[int, int], face_width: int, at: tuple[int, int]) -> np.ndarray:
    """BGR frame of size canvas (h, w) with the photo scaled to face_width pixels wide, top-left corner at (x, y)."""
    h, w = photo.shape[:2]
    fh = max(1, round(h * face_width / w))
    small = cv2.resize(photo, (face_width, fh), interpolation=cv2.INTER_AREA)
    frame = np.full((canvas[0], canvas[1], 3), BACKGROUND, np.uint8)
    x, y = min(at[0], canvas[1] - face_width), min(at[1], canvas[0] - fh)  # tall photos: keep them inside
    frame[y:y + fh, x:x + face_width] = small
    return frame


def scene_specs(names: list[str]) -> list[dict]:
    """A fixed set of scenes: landscape 640x480 and portrait 360x640 frames, faces 40 to 160 px wide."""
    specs = []
    for i, name in enumerate(names):
        landscape = i % 2 == 0
        canvas = (480, 640) if landscape else (640, 360)
        face_width = (40, 64, 100, 160)[i % 4]
        at = ((37 * i) % (canvas[1] - 200) + 10, (53 * i) % (canvas[0] - 250) + 10)
        specs.append({"photo": name, "canvas": list(canvas), "face_width": face_width, "at": list(at)})
    return specs
