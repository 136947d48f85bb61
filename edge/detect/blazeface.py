"""MediaPipe BlazeFace run through the project's own inference backend; decoding in numpy."""

from __future__ import annotations

import logging
from pathlib import Path

import cv2
import numpy as np

from ..backends import open_backend
from ..description import DescriptionError, ModelDescription
from . import ssd
from .base import Box, Detection, FaceDetector, as_bgr

logger = logging.getLogger(__name__)


class Letterbox:
    """Fits an image into the model input keeping its aspect ratio, as MediaPipe's ImageToTensorCalculator does."""

    def __init__(self, size: tuple[int, int], pad_value: int = 0) -> None:
        self.height, self.width = size
        self.pad_value = pad_value

    def __call__(self, image: np.ndarray, margin: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
        """Image -> (input-size image, affine 2x3 from input pixels back to image pixels); `margin` zooms out."""
        h, w = image.shape[:2]  # margin: that fraction of the longer side is added as border on every side
        pad = 2.0 * margin * max(h, w)
        s = min(self.width / (w + pad), self.height / (h + pad))
        # Top-left of the region that fills the input, centred on the image; it reaches past the image (border).
        ox, oy = w / 2.0 - self.width / (2.0 * s), h / 2.0 - self.height / (2.0 * s)
        # A bilinear warp that maps corners to corners, like MediaPipe's: with cv2.resize (pixel centres
        # aligned, INTER_AREA) boxes and keypoints drifted up to 11% of the face width from MediaPipe's own.
        to_input = np.array([[s, 0.0, -ox * s], [0.0, s, -oy * s]], np.float64)
        out = cv2.warpAffine(image, to_input, (self.width, self.height), flags=cv2.INTER_LINEAR,
                             borderMode=cv2.BORDER_CONSTANT, borderValue=(self.pad_value,) * 3)
        back = np.array([[1.0 / s, 0.0, ox], [0.0, 1.0 / s, oy]], np.float64)
        return out, back


class BlazeFaceDetector(FaceDetector):
    """Anchors, input conversion and output layout are set up once; `detect` fills, invokes and decodes."""

    name = "blazeface"

    def __init__(self, model_path: str | Path, min_score: float | None = 0.5, threads: int = 1,
                 backend: str | None = None) -> None:
        self.path = Path(model_path)
        if not self.path.is_file():
            raise FileNotFoundError(f"BlazeFace model {self.path} not found; the bundled ones are in edge/models/")
        self.description = ModelDescription.load(self.path)
        self.name = self.description.name
        if self.description.task != "face-detection" or "detection" not in self.description.raw:
            raise DescriptionError(f"{self.path.name}: not a face-detection model description (task "
                                   f"{self.description.task!r}); use a BlazeFace model with its sidecar .json")
        try:
            opts = ssd.options(self.description.raw["detection"])
        except ValueError as e:
            raise DescriptionError(f"{self.path.name}.json: {e}") from None
        self.backend = open_backend(self.path, backend=backend, threads=threads)
        inp = self.backend.inputs[0]
        if tuple(inp.shape) != tuple(self.description.input.shape):
            raise DescriptionError(f"{self.path.name}: model input {inp.shape} differs from its description's "
                                   f"{self.description.input.shape}; the sidecar belongs to another model")
        _, height, width, _ = inp.shape
        self.input_size = (int(height), int(width))
        self.min_score = float(opts["min_score"] if min_score is None else min_score)
        pre = self.description.preprocess
        lo, hi = (float(v) for v in pre["range"])
        self._in_scale, self._in_offset = (hi - lo) / 255.0, lo
        self._rgb = pre.get("color", "rgb") == "rgb"
        self.letterbox = Letterbox(self.input_size, int(pre.get("pad_value", 0)))
        self.anchors = ssd.ssd_anchors(self.input_size, **opts["anchors"])
        # Outputs are told apart by their last dimension (1 score vs 4 box + 2 per keypoint values), not by name,
        # because the two BlazeFace files name them differently.
        dec = opts["decode"]
        self._num_keypoints = int(dec["num_keypoints"])
        by_width = {o.shape[-1]: i for i, o in enumerate(self.backend.outputs)}
        coords = 4 + 2 * self._num_keypoints
        if set(by_width) != {1, coords} or any(o.shape[-2] != len(self.anchors) for o in self.backend.outputs):
            raise DescriptionError(f"{self.path.name}: outputs {[o.shape for o in self.backend.outputs]} do not match "
                                   f"{len(self.anchors)} anchors with {coords} coordinates from its description")
        self._box_out, self._score_out = by_width[coords], by_width[1]
        self._scale = dec["scale"]
        self._reverse = bool(dec.get("reverse_output_order", True))
        self._clip = float(dec["score_clipping"])
        self._nms = float(opts["nms"]["min_suppression_threshold"])
        self._dtype = inp.dtype
        self.retry_margin = float(opts.get("retry_margin", 0.0))

    def preprocess(self, image: np.ndarray, margin: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
        """Image -> (1, H, W, 3) model input and the affine that maps input pixels back to the image."""
        boxed, back = self.letterbox(as_bgr(image), margin)
        if self._rgb:
            boxed = cv2.cvtColor(boxed, cv2.COLOR_BGR2RGB)
        x = boxed.astype(np.float32) * self._in_scale + self._in_offset
        return x[None].astype(self._dtype, copy=False), back

    def detect(self, image_bgr: np.ndarray) -> list[Detection]:
        found = self._detect(image_bgr, 0.0)
        if not found and self.retry_margin > 0:
            # BlazeFace learnt faces smaller than its input: a face that fills or overflows the frame (a close-up,
            # a pre-cut face) often scores low. A second look with a border around the frame shrinks it back into range.
            found = self._detect(image_bgr, self.retry_margin)
        return found

    def _detect(self, image: np.ndarray, margin: float) -> list[Detection]:
        x, back = self.preprocess(image, margin)
        outs = self.backend.run(x)
        scores = ssd.sigmoid_scores(outs[self._score_out][0, :, 0], self._clip)
        hit = np.flatnonzero(scores >= self.min_score)
        if hit.size == 0:
            return []
        raw = outs[self._box_out][0, hit].astype(np.float32)
        boxes, kps = ssd.decode(raw, self.anchors[hit], self._scale, self._num_keypoints, self._reverse)
        return [self._to_image(box, kp, score, back) for box, kp, score in ssd.weighted_nms(boxes, kps, scores[hit], self._nms)]

    def _to_image(self, box: np.ndarray, kp: np.ndarray, score: float, back: np.ndarray) -> Detection:
        """Relative input coordinates -> image pixels; not clipped, so a face cut by the frame keeps its centre and size."""
        size = np.array([self.input_size[1], self.input_size[0]], np.float64)
        pts = np.vstack([box.reshape(2, 2), kp]) * size
        pts = pts @ back[:, :2].T + back[:, 2]
        (x0, y0), (x1, y1) = pts[0], pts[1]
        keypoints = tuple((float(px), float(py)) for px, py in pts[2:])
        return Detection(Box(float(x0), float(y0), float(x1 - x0), float(y1 - y0)), score, keypoints)
