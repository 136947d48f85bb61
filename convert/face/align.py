"""Eye-keypoint alignment of FER2013 faces, with the same BlazeFace and the same warp the device uses.

BlazeFace runs on each 48x48 face enlarged 4x (edge.preprocess.cut_face_keypoints); its keypoints, mapped back to
48x48 pixels, give each face's eyes, nose tip and mouth centre. `template` is their median over Training:
`edge.preprocess.FACE_PREPROCESS["align"]["template"]` holds it, and edge.preprocess.align_cut_faces warps every
face onto it with `align_face`, exactly as the device warps a camera face.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path

import numpy as np

from edge.classify.face_preprocess import CUT_FACE_MIN_SCORE, cut_face_keypoints

from .fer2013 import cached_rows

logger = logging.getLogger(__name__)


def keypoints(faces: np.ndarray) -> np.ndarray:
    """(N, 48, 48) uint8 -> (N, 6, 2) BlazeFace keypoints in 48x48 pixel coordinates; NaN where none was found."""
    from edge.detect import make_detector

    det = make_detector("blazeface", min_score=CUT_FACE_MIN_SCORE)
    t0 = time.perf_counter()
    out = np.concatenate([cut_face_keypoints(faces[i:i + 5000], det.detect) for i in range(0, len(faces), 5000)])
    logger.info("BlazeFace keypoints of %d faces in %.0f s (%.2f%% found)", len(faces), time.perf_counter() - t0,
                100 * np.isfinite(out[:, 0, 0]).mean())
    return out


def template(kps: np.ndarray, which: tuple[int, ...] = (0, 1, 2, 3)) -> np.ndarray:
    """Median position of the chosen keypoints over the faces where they were found."""
    ok = np.isfinite(kps[:, 0, 0])
    return np.median(kps[ok][:, list(which)], axis=0)


def cached_keypoints(faces: np.ndarray, path: Path) -> np.ndarray:
    """keypoints(faces), computed once and kept in `path` (a resumed or repeated run reuses them)."""
    return cached_rows(path, (len(faces), 6, 2), lambda: keypoints(faces))
