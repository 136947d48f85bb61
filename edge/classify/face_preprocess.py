"""Face preprocessing, shared by training (convert/) and the device.

The training code takes FACE_PREPROCESS from here and writes it into each
model's description; the device applies whatever the description says.
"""

from __future__ import annotations

from typing import Any, Callable, Sequence

import cv2
import numpy as np

# FER2013 faces: 48x48 grayscale, pixel p in 0..255 fed as p * scale + offset (0..1).
# crop_margin: the detector's box grows by this fraction of its size on every side,
# because FER2013 crops include forehead and chin beyond a detector's tight box.
# align: when the detector gives keypoints, the face is instead warped (rotation, uniform scale, shift) so that
# BlazeFace's keypoints `keypoints` (indices: eye on the image's left, eye on its right, nose tip, mouth centre)
# land on `template` (model-input pixels): their median over FER2013 Training, where BlazeFace finds them on each
# face enlarged 4x (`convert/face_align.py`). The device then frames and levels a face as the training faces were.
FACE_PREPROCESS: dict[str, Any] = {
    "size": [48, 48],
    "color": "gray",
    "scale": 1.0 / 255.0,
    "offset": 0.0,
    "crop_margin": 0.15,
    "align": {"keypoints": [0, 1, 2, 3],
              "template": [[15.81, 18.38], [32.24, 18.13], [24.24, 27.08], [24.26, 35.33]]},
}


def to_gray(image: np.ndarray) -> np.ndarray:
    """BGR or BGRA or gray uint8 image -> gray uint8."""
    if image.ndim == 2:
        return image
    if image.shape[2] == 4:
        return cv2.cvtColor(image, cv2.COLOR_BGRA2GRAY)
    if image.shape[2] == 1:
        return image[:, :, 0]
    return cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)


def to_color(image: np.ndarray, color: str) -> np.ndarray:
    """BGR, BGRA or gray uint8 image -> what a model's `color` says: "gray" (H, W) or "rgb" (H, W, 3)."""
    if color == "gray":
        return to_gray(image)
    if color != "rgb":
        raise ValueError(f"preprocess color {color!r} is not gray or rgb; the model's sidecar is wrong")
    if image.ndim == 2 or image.shape[2] == 1:
        return cv2.cvtColor(image.reshape(image.shape[:2]), cv2.COLOR_GRAY2RGB)
    return cv2.cvtColor(image, cv2.COLOR_BGRA2RGB if image.shape[2] == 4 else cv2.COLOR_BGR2RGB)


def pixels_to_input(gray: np.ndarray, spec: dict[str, Any] = FACE_PREPROCESS) -> np.ndarray:
    """(N, H, W) gray or (N, H, W, 3) colour uint8 faces at the model size -> the model's float32 input.

    NHWC, or NCHW when the spec's `layout` says so (models converted from PyTorch).
    """
    # `scale` and `offset` are one number, or one per colour channel (a model normalised with per-channel mean/std).
    x = gray.astype(np.float32) * np.asarray(spec["scale"], np.float32) + np.asarray(spec["offset"], np.float32)
    x = x[..., None] if x.ndim == 3 else x
    return x.transpose(0, 3, 1, 2) if spec.get("layout") == "nchw" else x


def face_batch(crops: Sequence[np.ndarray], spec: dict[str, Any] = FACE_PREPROCESS) -> np.ndarray:
    """Face crops of any size (gray or BGR uint8) -> the model's float32 input batch."""
    w, h = spec["size"][1], spec["size"][0]
    color = spec.get("color", "gray")
    out = np.empty((len(crops), h, w) + (() if color == "gray" else (3,)), np.uint8)
    for i, crop in enumerate(crops):
        g = to_color(crop, color)
        interp = cv2.INTER_AREA if g.shape[0] > h else cv2.INTER_LINEAR
        out[i] = cv2.resize(g, (w, h), interpolation=interp)
    return pixels_to_input(out, spec)


def similarity(src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """Least-squares rotation + uniform scale + shift mapping points `src` onto `dst` (Umeyama), as a 2x3 matrix.

    Closed form and deterministic (OpenCV's estimateAffinePartial2D samples at random).
    """
    src, dst = np.asarray(src, np.float64), np.asarray(dst, np.float64)
    ms, md = src.mean(0), dst.mean(0)
    s, d = src - ms, dst - md
    # For 2-D points the optimal similarity is z -> a*z + t in complex numbers: a = sum(conj(s) d) / sum(|s|^2).
    zs, zd = s[:, 0] + 1j * s[:, 1], d[:, 0] + 1j * d[:, 1]
    a = np.vdot(zs, zd) / max(float(np.vdot(zs, zs).real), 1e-12)
    m = np.array([[a.real, -a.imag], [a.imag, a.real]])
    return np.hstack([m, (md - m @ ms)[:, None]])


def align_face(image: np.ndarray, keypoints: Sequence[Sequence[float]], spec: dict[str, Any]) -> np.ndarray:
    """Face at the model size and colour, warped so the detector's keypoints land on spec["align"]["template"].

    The template (in model-input pixels) is where those keypoints sit on average in the training faces, so
    an aligned camera face is framed, scaled and levelled like the faces the model learnt from. A face much
    larger than the model input is warped at up to 4x the size first and then area-averaged down, because a
    single bilinear warp would skip pixels (aliasing); `"supersample": false` asks for the single warp.
    Pixels from outside the image repeat the nearest edge (`"border": "replicate"`) or are black ("constant").
    """
    al = spec["align"]
    w, h = spec["size"][1], spec["size"][0]
    pts = np.asarray([keypoints[i] for i in al["keypoints"]], np.float64)
    m = similarity(pts, np.asarray(al["template"], np.float64))
    face = to_color(image, spec.get("color", "gray"))
    border = cv2.BORDER_CONSTANT if al.get("border", "replicate") == "constant" else cv2.BORDER_REPLICATE
    k = int(min(4, max(1, np.floor(1.0 / max(float(np.hypot(m[0, 0], m[1, 0])), 1e-6)))))
    if k == 1 or not al.get("supersample", True):
        return cv2.warpAffine(face, m, (w, h), flags=cv2.INTER_LINEAR, borderMode=border)
    # Output pixel centres: x' = k * x + (k - 1) / 2 maps the model grid onto the k-times finer one.
    mk = m * k
    mk[:, 2] += (k - 1) / 2.0
    big = cv2.warpAffine(face, mk, (w * k, h * k), flags=cv2.INTER_LINEAR, borderMode=border)
    return cv2.resize(big, (w, h), interpolation=cv2.INTER_AREA)


# BlazeFace does not find faces as small as FER2013's 48 px; enlarged 4x (192 px) it finds 99.6% of them, with a
# score floor of 0.3 rather than the device's 0.5: an enlarged face is blurry and scores lower, and a face it misses
# stays unaligned.
CUT_FACE_UPSCALE = 4
CUT_FACE_MIN_SCORE = 0.3


def cut_face_keypoints(faces: np.ndarray, detect: Callable[[np.ndarray], Sequence[Any]],
                       upscale: int = CUT_FACE_UPSCALE) -> np.ndarray:
    """(N, H, W) uint8 faces that are already cut out (FER2013) -> (N, K, 2) keypoints in their pixels, NaN where
    `detect` (a detector's `detect`) found no face in the enlarged copy; the largest detection counts."""
    n, h, w = faces.shape
    out = None
    for i, face in enumerate(faces):
        found = detect(cv2.resize(face, (w * upscale, h * upscale), interpolation=cv2.INTER_CUBIC))
        if not found:
            continue
        kp = np.asarray(max(found, key=lambda d: d.box.area).keypoints, np.float32)
        if out is None:
            out = np.full((n,) + kp.shape, np.nan, np.float32)
        out[i] = (kp - (upscale - 1) / 2.0) / upscale  # pixel centres: x_big = upscale * x + (upscale - 1) / 2
    return np.full((n, 6, 2), np.nan, np.float32) if out is None else out


def prepare_cut_faces(faces: np.ndarray, spec: dict[str, Any]) -> np.ndarray:
    """Cut-out gray faces (FER2013) as a model takes them: aligned with BlazeFace's keypoints when its spec aligns."""
    if "align" not in spec:
        return faces
    from ..detect import make_detector  # only aligned models need the detector here

    detector = make_detector("blazeface", min_score=CUT_FACE_MIN_SCORE)
    return align_cut_faces(faces, cut_face_keypoints(faces, detector.detect), spec)


def align_cut_faces(faces: np.ndarray, keypoints: np.ndarray, spec: dict[str, Any]) -> np.ndarray:
    """Cut-out gray faces warped onto the spec's template by their keypoints (cut_face_keypoints); a face without
    keypoints stays as it is, as the device keeps the box crop of a face without them."""
    out = faces.copy()
    for i in np.flatnonzero(np.isfinite(keypoints[:, 0, 0])):
        out[i] = align_face(faces[i], keypoints[i], spec)
    return out


def crop_with_margin(image: np.ndarray, box: Sequence[float], margin: float) -> np.ndarray:
    """Square crop around box (x, y, w, h), grown by `margin` per side, clamped to the image."""
    x, y, w, h = box
    cx, cy = x + w / 2.0, y + h / 2.0
    side = max(w, h) * (1.0 + 2.0 * margin)
    x0, y0 = int(round(cx - side / 2)), int(round(cy - side / 2))
    x1, y1 = int(round(cx + side / 2)), int(round(cy + side / 2))
    H, W = image.shape[:2]
    crop = image[max(0, y0):min(H, y1), max(0, x0):min(W, x1)]
    if crop.size == 0:
        raise ValueError(f"box {tuple(box)} lies outside the {W}x{H} image")
    return crop
