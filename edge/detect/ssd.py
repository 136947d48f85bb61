"""SSD anchors, box decoding and weighted non-maximum suppression, in numpy.

The same arithmetic as MediaPipe's SsdAnchorsCalculator, TensorsToDetectionsCalculator
and NonMaxSuppressionCalculator (algorithm WEIGHTED); the options come from the model's
description, so this module holds no model-specific number.
"""

from __future__ import annotations

import math
from typing import Any, Sequence

import numpy as np


def _layer_scale(min_scale: float, max_scale: float, index: int, count: int) -> float:
    if count == 1:
        return (min_scale + max_scale) * 0.5
    return min_scale + (max_scale - min_scale) * index / (count - 1)


def ssd_anchors(input_size: Sequence[int], strides: Sequence[int], min_scale: float, max_scale: float,
                anchor_offset: Sequence[float] = (0.5, 0.5), aspect_ratios: Sequence[float] = (1.0,),
                interpolated_scale_aspect_ratio: float = 1.0, fixed_anchor_size: bool = True) -> np.ndarray:
    """(N, 4) anchors as x_center, y_center, w, h, relative to the input, in the model's output order."""
    height, width = int(input_size[0]), int(input_size[1])
    out: list[tuple[float, float, float, float]] = []
    layer, n = 0, len(strides)
    while layer < n:
        # Consecutive layers with the same stride share one feature map; their anchors interleave per cell.
        sizes: list[tuple[float, float]] = []
        last = layer
        while last < n and strides[last] == strides[layer]:
            scale = _layer_scale(min_scale, max_scale, last, n)
            for ratio in aspect_ratios:
                sizes.append((scale * math.sqrt(ratio), scale / math.sqrt(ratio)))
            if interpolated_scale_aspect_ratio > 0:
                nxt = 1.0 if last == n - 1 else _layer_scale(min_scale, max_scale, last + 1, n)
                s = math.sqrt(scale * nxt)
                r = math.sqrt(interpolated_scale_aspect_ratio)
                sizes.append((s * r, s / r))
            last += 1
        rows, cols = math.ceil(height / strides[layer]), math.ceil(width / strides[layer])
        for y in range(rows):
            for x in range(cols):
                cx, cy = (x + anchor_offset[0]) / cols, (y + anchor_offset[1]) / rows
                for w, h in sizes:
                    out.append((cx, cy, 1.0, 1.0) if fixed_anchor_size else (cx, cy, w, h))
        layer = last
    return np.asarray(out, np.float32)


def sigmoid_scores(raw: np.ndarray, clip: float) -> np.ndarray:
    """Raw logits -> probabilities; clipping keeps exp() finite on extreme logits."""
    return 1.0 / (1.0 + np.exp(-np.clip(raw.astype(np.float64), -clip, clip)))


def decode(raw: np.ndarray, anchors: np.ndarray, scale: Sequence[float], num_keypoints: int,
           reverse_output_order: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """Raw regressors (N, C) -> boxes (N, 4) as xmin, ymin, xmax, ymax and keypoints (N, K, 2), relative to the input."""
    sx, sy, sw, sh = (float(v) for v in scale)
    if reverse_output_order:  # BlazeFace writes x before y and w before h
        cx, cy, w, h = raw[:, 0], raw[:, 1], raw[:, 2], raw[:, 3]
    else:
        cy, cx, h, w = raw[:, 0], raw[:, 1], raw[:, 2], raw[:, 3]
    ax, ay, aw, ah = anchors[:, 0], anchors[:, 1], anchors[:, 2], anchors[:, 3]
    cx = cx / sx * aw + ax
    cy = cy / sy * ah + ay
    w = w / sw * aw
    h = h / sh * ah
    boxes = np.stack([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2], axis=1)
    kp = raw[:, 4:4 + 2 * num_keypoints].reshape(len(raw), num_keypoints, 2)
    if not reverse_output_order:
        kp = kp[:, :, ::-1]
    kx = kp[:, :, 0] / sx * aw[:, None] + ax[:, None]
    ky = kp[:, :, 1] / sy * ah[:, None] + ay[:, None]
    return boxes, np.stack([kx, ky], axis=2)


def iou_one_to_many(box: np.ndarray, boxes: np.ndarray) -> np.ndarray:
    """IoU of one xmin, ymin, xmax, ymax box with each row of `boxes`."""
    iw = np.clip(np.minimum(box[2], boxes[:, 2]) - np.maximum(box[0], boxes[:, 0]), 0, None)
    ih = np.clip(np.minimum(box[3], boxes[:, 3]) - np.maximum(box[1], boxes[:, 1]), 0, None)
    inter = iw * ih
    area = (box[2] - box[0]) * (box[3] - box[1])
    areas = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
    union = area + areas - inter
    return np.where(union > 0, inter / np.maximum(union, 1e-12), 0.0)


def weighted_nms(boxes: np.ndarray, keypoints: np.ndarray, scores: np.ndarray,
                 threshold: float) -> list[tuple[np.ndarray, np.ndarray, float]]:
    """Merge overlapping detections: each cluster's box and keypoints become the score-weighted mean, its score the best one."""
    order = np.argsort(-scores, kind="stable")
    out = []
    while order.size:
        overlap = iou_one_to_many(boxes[order[0]], boxes[order])
        cluster, order = order[overlap > threshold], order[overlap <= threshold]
        if cluster.size == 0:  # a degenerate (zero-area) box overlaps nothing, not even itself
            cluster, order = order[:1], order[1:]
        w = scores[cluster][:, None]
        box = (boxes[cluster] * w).sum(0) / w.sum()
        kps = (keypoints[cluster] * w[:, :, None]).sum(0) / w.sum()
        out.append((box, kps, float(scores[cluster[0]])))
    return out


def options(d: dict[str, Any]) -> dict[str, Any]:
    """Check the `detection` section of a face-detection description and return it."""
    need = {"anchors": ("strides", "min_scale", "max_scale"), "decode": ("scale", "num_keypoints", "score_clipping"),
            "nms": ("min_suppression_threshold",)}
    for section, keys in need.items():
        missing = [k for k in keys if k not in d.get(section, {})]
        if missing:
            raise ValueError(f"detection.{section} lacks {', '.join(missing)}")
    return d
