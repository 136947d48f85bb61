"""Training-time augmentation of uint8 faces with OpenCV: on the CPU, beside any Keras backend."""

from __future__ import annotations

import math

import cv2
import numpy as np


def augment(faces: np.ndarray, rng: np.random.Generator, rotation: float = 10.0, shift: float = 0.1,
            zoom: float = 0.1, erasing: float = 0.5) -> np.ndarray:
    """(N, H, W) uint8 -> augmented copy: horizontal flip, rotation (degrees), shift and zoom (fractions), random erasing.

    The seed design's flip/rotation 10/shift 0.1/zoom 0.1, plus random erasing (Zhong et al. 2017) with
    probability `erasing`: a rectangle of 2-25% of the face filled with noise, so no single region decides the class.
    """
    n, h, w = faces.shape
    out = np.empty_like(faces)
    flips = rng.random(n) < 0.5
    angles = rng.uniform(-rotation, rotation, n)
    scales = rng.uniform(1 - zoom, 1 + zoom, n)
    shifts = rng.uniform(-shift, shift, (n, 2)) * (w, h)
    for i in range(n):
        m = cv2.getRotationMatrix2D((w / 2 - 0.5, h / 2 - 0.5), angles[i], scales[i])
        m[:, 2] += shifts[i]
        img = faces[i, :, ::-1] if flips[i] else faces[i]
        out[i] = cv2.warpAffine(np.ascontiguousarray(img), m, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    for i in np.flatnonzero(rng.random(n) < erasing):
        area = rng.uniform(0.02, 0.25) * h * w
        aspect = math.exp(rng.uniform(math.log(0.3), math.log(3.3)))  # log-uniform, as in the paper
        eh, ew = min(h, int(round(math.sqrt(area * aspect)))), min(w, int(round(math.sqrt(area / aspect))))
        y, x = rng.integers(0, h - eh + 1), rng.integers(0, w - ew + 1)
        out[i, y:y + eh, x:x + ew] = rng.integers(0, 256, (eh, ew), dtype=np.uint8)
    return out


def camera(faces: np.ndarray, rng: np.random.Generator, p: float = 0.5) -> np.ndarray:
    """(N, H, W) uint8 -> copy in which each face, with probability `p`, looks as if a real camera had taken it.

    FER2013 faces are web images; a device sees sharper or blurrier, noisier, darker or brighter, smaller faces.
    Each chosen face gets each of these with probability 1/2 (so most get two or three, in this order):
    low resolution (the face was 12-32 px across: area-down, bilinear-up), Gaussian blur (sigma 0.4-1.2 px),
    gamma 0.6-1.6 with a contrast change of 0.7-1.2, sensor noise (sigma 2-8 grey levels), JPEG at quality 25-85.
    Colour -> gray conversion is not simulated: FER2013 holds no colour.
    """
    n, h, w = faces.shape
    out = faces.copy()
    for i in np.flatnonzero(rng.random(n) < p):
        img = out[i]
        if rng.random() < 0.5:
            side = int(rng.integers(12, 33))
            img = cv2.resize(cv2.resize(img, (side, side), interpolation=cv2.INTER_AREA), (w, h), interpolation=cv2.INTER_LINEAR)
        if rng.random() < 0.5:
            img = cv2.GaussianBlur(img, (0, 0), float(rng.uniform(0.4, 1.2)))
        if rng.random() < 0.5:
            x = (img.astype(np.float32) / 255.0) ** float(np.exp(rng.uniform(np.log(0.6), np.log(1.6))))
            x = (x - x.mean()) * float(rng.uniform(0.7, 1.2)) + x.mean()
            img = np.clip(x * 255.0 + 0.5, 0, 255).astype(np.uint8)
        if rng.random() < 0.5:
            img = np.clip(img + rng.normal(0.0, rng.uniform(2.0, 8.0), img.shape), 0, 255).astype(np.uint8)
        if rng.random() < 0.5:
            ok, buf = cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, int(rng.integers(25, 86))])
            img = cv2.imdecode(buf, cv2.IMREAD_GRAYSCALE)
        out[i] = img
    return out
