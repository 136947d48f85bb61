"""Real-photo teachers' probabilities on FER2013's faces, computed once and cached for `train-face --soft-labels`.

The two teachers in ../shared/models/ were trained on real photographs (OpenCV Zoo's MobileFaceNet on RAF-DB,
face-api.js's FaceExpressionNet on public sets and web photos): they read disgust, fear and neutral faces better
than a FER2013 model, and are too slow (the zoo model: 11 ms per face here) to run on every augmented batch. Each
takes 112x112 RGB: a 48x48 grey face is upsampled and repeated over the three channels; the zoo model's face is
first aligned on BlazeFace's eyes, nose tip and mouth centre (its README's five-point template, the mouth corners
averaged), falling back to a plain resize where BlazeFace found nothing.

    edge-convert teach-face --data fer2013.csv.gz --out runs/teachers --ferplus ferplus.csv

writes `<teacher>_<split>.npy` (rows in FER2013 order, FACE_LABELS order) and `mean_<split>.npy`, the average the
student learns from, and prints each teacher's FER+ majority accuracy and balanced accuracy on PublicTest.
"""

from __future__ import annotations

import argparse
import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from edge.labels import FACE_LABELS

from ..report import metrics
from . import ferplus
from .align import cached_keypoints
from .fer2013 import cached_rows, load

logger = logging.getLogger(__name__)

SHARED = Path(__file__).resolve().parents[2].parent / "shared" / "models"
SIZE = 112
# Five-point template of the zoo model's README (left eye, right eye, nose tip, mouth corners), mouth corners
# averaged to BlazeFace's mouth centre.
ZOO_TEMPLATE = np.array([[38.2946, 51.6963], [73.5318, 51.5014], [56.0252, 71.7366],
                         [(41.5493 + 70.7299) / 2, (92.3655 + 92.2041) / 2]], np.float32)
FACEAPI_MEAN = np.array([122.782, 117.001, 104.298], np.float32)[None, :, None, None]


@dataclass(frozen=True)
class Teacher:
    name: str
    default_path: Path
    labels: tuple[str, ...]  # the model's output order, in FACE_LABELS' words
    aligned: bool
    batch: int  # the zoo model's graph takes one face at a time
    scale: Callable[[np.ndarray], np.ndarray]  # (N, 3, 112, 112) float32 0..255 -> the model's input
    logits: bool


TEACHERS = {
    "opencv-zoo": Teacher("opencv-zoo", SHARED / "opencv-zoo-fer" / "facial_expression_recognition_mobilefacenet_2022july_int8.onnx",
                          ("angry", "disgust", "fear", "happy", "neutral", "sad", "surprise"), True, 1,
                          lambda x: (x / 255 - 0.5) / 0.5, True),
    "faceapi": Teacher("faceapi", SHARED / "faceapi-expression" / "faceapi_expression.onnx",
                       ("neutral", "happy", "sad", "angry", "fear", "disgust", "surprise"), False, 256,
                       lambda x: (x - FACEAPI_MEAN) / 255, False),
}


def upsampled(faces: np.ndarray, kps: np.ndarray | None) -> np.ndarray:
    """(N, 48, 48) uint8 -> (N, 112, 112) float32: aligned onto ZOO_TEMPLATE where `kps` has the face, else resized."""
    import cv2

    out = np.empty((len(faces), SIZE, SIZE), np.float32)
    for i, face in enumerate(faces):
        m = None
        if kps is not None and np.isfinite(kps[i, :4]).all():
            m, _ = cv2.estimateAffinePartial2D(kps[i, :4].astype(np.float32), ZOO_TEMPLATE)
        out[i] = (cv2.warpAffine(face, m, (SIZE, SIZE), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
                  if m is not None else cv2.resize(face, (SIZE, SIZE), interpolation=cv2.INTER_LINEAR))
    return out


def probabilities(teacher: Teacher, path: Path, faces: np.ndarray, kps: np.ndarray | None) -> np.ndarray:
    """(N, 7) probabilities in FACE_LABELS order."""
    import onnxruntime as ort

    so = ort.SessionOptions()
    so.log_severity_level = 3
    sess = ort.InferenceSession(str(path), so, providers=["CPUExecutionProvider"])
    name = sess.get_inputs()[0].name
    order = [teacher.labels.index(label) for label in FACE_LABELS]
    out, t0, step = [], time.perf_counter(), 2048
    for s in range(0, len(faces), step):
        grey = upsampled(faces[s:s + step], kps[s:s + step] if teacher.aligned else None)
        x = teacher.scale(np.repeat(grey[:, None], 3, axis=1)).astype(np.float32)
        out += [sess.run(None, {name: x[i:i + teacher.batch]})[0] for i in range(0, len(x), teacher.batch)]
        logger.info("%s: %d of %d faces (%.0f s)", teacher.name, min(s + step, len(faces)), len(faces),
                    time.perf_counter() - t0)
    z = np.concatenate(out).astype(np.float64)
    if teacher.logits:
        z = np.exp(z - z.max(1, keepdims=True))
    p = z / z.sum(1, keepdims=True)
    return p[:, order].astype(np.float32)


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--data", required=True, help="fer2013.csv(.gz)")
    p.add_argument("--out", required=True, help="folder for the cached probabilities and keypoints")
    p.add_argument("--splits", nargs="+", default=["Training", "PublicTest"], help="FER2013 splits to label")
    p.add_argument("--teacher", nargs="+", default=sorted(TEACHERS), metavar="NAME[=PATH]",
                   help=f"teachers ({', '.join(sorted(TEACHERS))}), each with its .onnx if not in ../shared/models")
    p.add_argument("--ferplus", default=None, metavar="CSV", help="FER+ votes: print each teacher's PublicTest figures")


def run(args: argparse.Namespace) -> int:
    chosen = []
    for item in args.teacher:
        name, _, path = item.partition("=")
        if name not in TEACHERS:
            raise SystemExit(f"--teacher {name}: unknown; choose from {', '.join(sorted(TEACHERS))}")
        path = Path(path) if path else TEACHERS[name].default_path
        if not path.is_file():
            raise SystemExit(f"--teacher {name}: {path} not found; give its .onnx as {name}=PATH")
        chosen.append((TEACHERS[name], path))
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    data = load(args.data, splits=tuple(args.splits))
    votes = ferplus.load_votes(args.ferplus) if args.ferplus else None
    for split in args.splits:
        faces = data[split].x
        kps = cached_keypoints(faces, out / f"keypoints_{split}.npy") if any(t.aligned for t, _ in chosen) else None
        probs = [cached_rows(out / f"{t.name}_{split}.npy", (len(faces), len(FACE_LABELS)),
                             lambda t=t, path=path: probabilities(t, path, faces, kps)) for t, path in chosen]
        mean = np.mean(probs, axis=0).astype(np.float32)
        np.save(out / f"mean_{split}.npy", mean)
        if votes is not None and split != "Training":
            y = ferplus.majority(votes[split])
            keep = y >= 0  # rows without a majority are left out, as validate-face --ferplus does
            for name, p in [(t.name, q) for (t, _), q in zip(chosen, probs)] + [("mean", mean)]:
                m = metrics(y[keep], p[keep].argmax(1), FACE_LABELS)
                print(f"{split} FER+ majority, {name}: accuracy {100 * m['accuracy']:.2f} %, balanced "
                      f"{100 * m['uar']:.2f} %, recall " + " / ".join(f"{r:.2f}" for r in m["recall"].values()))
    return 0
