"""Keypoint alignment of faces (edge/classify/face_preprocess.py): the same warp on the device and in training."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from edge.classify.face_preprocess import FACE_PREPROCESS, align_face, face_batch, similarity


def test_similarity_recovers_rotation_scale_and_shift():
    rng = np.random.default_rng(0)
    src = rng.uniform(0, 100, (4, 2))
    th, s = 0.3, 0.5
    m = np.array([[s * np.cos(th), -s * np.sin(th), 3.0], [s * np.sin(th), s * np.cos(th), 4.0]])
    dst = src @ m[:, :2].T + m[:, 2]
    assert np.allclose(similarity(src, dst), m, atol=1e-9)


def _dots(size: int, points: np.ndarray) -> np.ndarray:
    """A gray image with a bright dot at each point (sub-pixel centres drawn with 4-bit shift)."""
    img = np.zeros((size, size), np.uint8)
    for x, y in points:
        cv2.circle(img, (int(round(x * 16)), int(round(y * 16))), 3 * 16, 255, -1, cv2.LINE_AA, shift=4)
    return img


@pytest.mark.parametrize("angle", [0.0, 25.0, -40.0])
def test_aligned_keypoints_land_on_the_template(angle):
    """A large, rotated face: after alignment each keypoint's dot is within one pixel of its template position."""
    template = np.array(FACE_PREPROCESS["align"]["template"])
    rad = np.radians(angle)
    rot = np.array([[np.cos(rad), -np.sin(rad)], [np.sin(rad), np.cos(rad)]])
    points = (template - 24) @ rot.T * 7.0 + 200  # 7x larger than the model input, rotated, in a 400 px frame
    out = align_face(_dots(400, points), points, FACE_PREPROCESS)
    assert out.shape == (48, 48) and out.dtype == np.uint8
    for tx, ty in template:
        x0, y0 = int(tx) - 2, int(ty) - 2
        patch = out[y0:y0 + 6, x0:x0 + 6].astype(np.float64)
        ys, xs = np.mgrid[y0:y0 + 6, x0:x0 + 6]
        cx, cy = (patch * xs).sum() / patch.sum(), (patch * ys).sum() / patch.sum()
        assert abs(cx - tx) < 1.0 and abs(cy - ty) < 1.0, (angle, tx, ty, cx, cy)


def test_colour_model_gets_rgb_nchw():
    spec = {"size": [112, 112], "color": "rgb", "scale": 1 / 127.5, "offset": -1.0, "layout": "nchw"}
    bgr = np.zeros((60, 50, 3), np.uint8)
    bgr[..., 2] = 255  # pure red in BGR
    x = face_batch([bgr], spec)
    assert x.shape == (1, 3, 112, 112)
    assert np.allclose(x[0, 0], 1.0) and np.allclose(x[0, 1:], -1.0)  # channel 0 is red after BGR -> RGB
