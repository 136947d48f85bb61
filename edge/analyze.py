"""Models loaded once, and the per-frame work shared by the live loop and `infer`."""

from __future__ import annotations

import logging
import time
from typing import Sequence

import numpy as np

from .classify import FaceClassifier, FaceResult
from .config import Config
from .fuse import Fuser, to_fused
from .paths import FACE_MODEL, VOICE_MODEL, model_path

logger = logging.getLogger(__name__)


class Analyzer:
    """Face detector, face classifier, voice classifier and fuser, built from the config."""

    def __init__(self, cfg: Config, video: bool = True, audio: bool = True) -> None:
        m = cfg.models
        backend = None if m.backend == "auto" else m.backend
        t0 = time.perf_counter()
        self.cfg = cfg
        self.face = self.detector = self.voice = None
        if video:
            from .detect import make_detector

            self.face = FaceClassifier(model_path(m.face, FACE_MODEL), backend=backend, threads=m.threads,
                                       providers=m.providers)
            self.detector = self._detector(cfg, backend)
        if audio:
            from .audio.voice import VoiceClassifier

            self.voice = VoiceClassifier(model_path(m.voice, VOICE_MODEL), backend=backend, threads=m.threads,
                                         providers=m.providers)
        f = cfg.fusion
        self.fuser = Fuser(f.face_weight, f.voice_weight, f.text_weight, f.smoothing)
        self.load_s = time.perf_counter() - t0

    @staticmethod
    def _detector(cfg: Config, backend: str | None):
        """The configured detector; BlazeFace that cannot run here (no TFLite runtime) falls back to Haar."""
        from .backends import BackendUnavailable
        from .detect import DetectorUnavailable, make_detector

        d, m = cfg.detect, cfg.models
        tflite_backend = backend if backend in ("litert", "tflite-runtime") else None
        try:
            return make_detector(d.detector, min_score=d.min_score, threads=m.threads, backend=tflite_backend)
        except (BackendUnavailable, DetectorUnavailable) as e:
            if not d.detector.startswith("blazeface"):
                raise
            logger.warning("%s; falling back to the Haar cascade (fewer faces found, see README)", e)
            return make_detector("haar", min_score=d.min_score)

    def detect(self, image: np.ndarray, timing: dict[str, float]) -> list:
        """Detections worth classifying (detect.min_face_px, detect.max_faces), largest first."""
        from .detect.base import keep

        t = time.perf_counter()
        d = self.cfg.detect
        dets = keep(self.detector.detect(image), d.max_faces, d.min_face_px)
        timing["detect"] = (time.perf_counter() - t) * 1e3
        return dets

    def classify(self, crops: Sequence[np.ndarray], boxes: Sequence[Sequence[float]], scores: Sequence[float],
                 timing: dict[str, float]) -> list[FaceResult]:
        t = time.perf_counter()
        x = self.face.preprocess(crops)
        t1 = time.perf_counter()
        probs = self.face.predict(x)
        timing["preprocess"] = (t1 - t) * 1e3
        timing["classify"] = (time.perf_counter() - t1) * 1e3
        return self.face.results(boxes, scores, probs)

    def faces(self, image: np.ndarray, timing: dict[str, float]) -> list[FaceResult]:
        """Detect, crop with the model's margin, classify all faces in one call."""
        dets = self.detect(image, timing)
        if not dets:
            timing.setdefault("preprocess", 0.0)
            timing.setdefault("classify", 0.0)
            return []
        # Crops use the detector's own box (a face cut by the frame edge keeps its centre);
        # published boxes are clipped to the frame.
        h, w = image.shape[:2]
        crops = self.face.crops(image, [det.box.to_list() for det in dets])
        boxes = [det.box.clip(w, h).to_list() for det in dets]
        return self.classify(crops, boxes, [float(det.score) for det in dets], timing)

    def face_part(self, faces: Sequence[FaceResult]) -> np.ndarray | None:
        """The fused-label vector of the primary face (the largest, listed first)."""
        return to_fused(faces[0].probs, self.face.labels) if faces else None

    def voice_part(self, probs: np.ndarray | None) -> np.ndarray | None:
        return None if probs is None else to_fused(probs, self.voice.labels)
