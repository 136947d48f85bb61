"""The face channel: detect faces in each frame, classify them, track them, and fuse the followed one."""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from ..capture import probe
from ..capture.video import VideoCapture
from ..capture.video import check_source as check_video_source
from ..classify.face import FaceClassifier, FaceResult
from ..detect.base import Box
from ..fuse.events import EventTracker
from ..fuse.fusion import relabel, to_fused
from ..fuse.track import Observation, Tracker
from ..paths import SAMPLE_VIDEO, resolve_model
from .base import Channel, InferOptions, Inferred, Part, model_options

logger = logging.getLogger(__name__)

# Timeline entries kept per video in `infer`: one hour at the default 5 analysed frames per second.
MAX_TIMELINE = 18000


class FaceChannel(Channel):
    """Face detector, face classifier and tracker, built from [models], [detect], [track] and [events]."""

    name = "face"
    stages = ("detect", "preprocess", "classify", "track")
    counters = ("tracks",)
    source_key = "video.source"
    task = "face"
    infer_kinds = frozenset({probe.IMAGE, probe.VIDEO})
    frames = True  # the loop steps once per video frame

    def __init__(self, classifier: FaceClassifier, detector, detect_cfg, tracker: Tracker | None = None,
                 events: EventTracker | None = None, spec: str | None = None, video_cfg=None) -> None:
        self.classifier, self.detector, self.detect_cfg = classifier, detector, detect_cfg
        self.labels = classifier.labels
        self.tracker, self.events = tracker, events  # None: each frame on its own (`infer`)
        self.spec, self.video_cfg = spec, video_cfg  # the video source and its [video] section (the live loop)

    @classmethod
    def source(cls, cfg) -> str | None:
        """The video source: faces come from the loop's frames ('sample' is the bundled demo clip)."""
        return {"sample": str(SAMPLE_VIDEO), "none": None, "": None}.get(cfg.video.source, cfg.video.source)

    @classmethod
    def from_config(cls, cfg) -> "FaceChannel":
        m = cfg.models
        opts = model_options(m)
        classifier = FaceClassifier(resolve_model("face", m.face, opts["backend"]), mirror=m.face_mirror,
                                    prior=m.face_prior, **opts)
        return cls(classifier, cls._detector(cfg, opts["backend"]), cfg.detect, Tracker.from_config(cfg.track),
                   EventTracker.from_config(cfg.events, classifier.labels), cls.source(cfg), cfg.video)

    @classmethod
    def check(cls, cfg, spec: str) -> list[str]:
        return check_video_source(spec)

    def describe(self) -> list[str]:
        return super().describe() + [f"detector: {getattr(self.detector, 'name', type(self.detector).__name__)}"]

    # -- the live loop ----------------------------------------------------------------------
    def open(self, stop, realtime: bool, media_clock: bool = False, broker=None) -> None:
        """Start the video capture (the [video] section says whether a file plays in real time)."""
        self.capture = VideoCapture.from_config(self.spec, self.video_cfg, stop).start()

    def close(self, timeout: float = 1.0) -> None:
        if self.capture is not None:
            self.capture.join(timeout=timeout)

    @staticmethod
    def _detector(cfg, backend: str | None):
        """The configured detector; BlazeFace that cannot run here (no TFLite runtime) falls back to Haar."""
        from ..backends import SUFFIXES, BackendUnavailable
        from ..detect import DetectorUnavailable, make_detector

        d, m = cfg.detect, cfg.models
        tflite_backend = backend if backend in SUFFIXES[".tflite"] else None  # the detectors' models are .tflite
        try:
            return make_detector(d.detector, min_score=d.min_score, threads=m.threads, backend=tflite_backend)
        except (BackendUnavailable, DetectorUnavailable) as e:
            if not d.detector.startswith("blazeface"):
                raise
            logger.warning("%s; falling back to the Haar cascade (fewer faces found, see README)", e)
            return make_detector("haar", min_score=d.min_score)

    @classmethod
    def absent(cls, reason: str = "") -> Part:
        return Part({"faces": []})

    def step(self, frame, timing: dict[str, float], until_s: float | None = None) -> Part:
        faces = self.faces(frame.image, timing)
        if self.tracker is None:
            return self.part(faces)
        return self.tracked(faces, frame, timing)

    def tracked(self, faces: Sequence[FaceResult], frame, timing: dict[str, float]) -> Part:
        """Track ids, each face's smoothed emotion and this step's events; fusion takes the followed face."""
        t = time.perf_counter()
        h, w = frame.image.shape[:2]
        obs = [Observation(Box(*f.box), f.keypoints, f.probs) for f in faces]
        step = self.tracker.update(frame.pos_s, obs, (w, h))  # stream time: files give the same tracks at any speed
        events = self.events.update(step, frame.pos_s, frame.ts) if self.events is not None else []
        by_id = {tr.id: tr for tr in step.tracks}
        dicts, vector = [], None
        for f, tid in zip(faces, step.ids):
            d = f.to_dict(self.labels)
            d["track_id"] = tid
            sm = by_id[tid].probs
            if sm is not None:
                i = int(np.argmax(sm))
                d["smoothed"] = {"emotion": self.labels[i], "confidence": round(float(sm[i]), 4),
                                 "probs": {l: round(float(p), 4) for l, p in zip(self.labels, sm)}}
            dicts.append(d)
            if tid == step.followed:
                vector = to_fused(f.probs, self.labels)  # the fuser smooths; restarted when the followed face changes
        if step.followed is None and faces:  # nobody confirmed yet (a face seen < track.min_hits frames): the largest
            vector = to_fused(faces[0].probs, self.labels)
        timing["track"] = (time.perf_counter() - t) * 1e3
        return Part({"faces": dicts}, vector, value=list(faces), events=tuple(events), subject=step.followed)

    def stats(self) -> dict[str, int]:
        return {"tracks": self.tracker.next_id - 1 if self.tracker is not None else 0}

    def finish(self, ts: float) -> list[dict]:
        """`end` for every face still tracked when the loop stops."""
        if self.tracker is None or self.events is None:
            return []
        step = self.tracker.close()
        return self.events.update(step, 0.0, ts)

    def part(self, faces: Sequence[FaceResult], vector: np.ndarray | None = None) -> Part:
        """The result fields of these faces; fusion takes `vector`, or else the largest face (listed first)."""
        if vector is None and faces:
            vector = to_fused(faces[0].probs, self.labels)
        elif vector is not None:  # a mean over a video's frames (infer) is a plain array: label it again
            vector = relabel(vector, self.labels)
        return Part({"faces": [f.to_dict(self.labels) for f in faces]}, vector, value=list(faces))

    # -- `infer`: whole images and videos ---------------------------------------------------
    def infer(self, item, kind: probe.FileKind, timing: dict[str, float], options: InferOptions) -> Inferred:
        if kind.kind == probe.VIDEO:
            return self._video(Path(item), timing, options.sample_fps)
        return self._image(Path(item), kind.format, timing, options.crop)

    def _image(self, path: Path, fmt: str, timing: dict[str, float], crop: bool) -> Inferred:
        import cv2

        image = cv2.imread(str(path), cv2.IMREAD_COLOR)  # its size was checked from the header (probe.sniff)
        if image is None:
            raise ValueError(f"truncated or damaged {fmt} file (OpenCV could not decode it)")
        extra: dict[str, Any] = {}
        warnings = []
        if fmt == "JPEG" and not probe.jpeg_complete(path):  # decodes anyway, its missing part grey: say so
            extra["truncated"] = True
            warnings.append(f"{path}: truncated JPEG (its image data ends before the end marker); the missing part "
                            "decodes grey and the result is flagged truncated")
        if crop:
            h, w = image.shape[:2]
            faces = self.classify([image], [(0, 0, w, h)], [1.0], timing)
        else:
            faces = self.faces(image, timing)
        return Inferred(self.part(faces), extra=extra, warnings=tuple(warnings))

    def _video(self, path: Path, timing: dict[str, float], sample_fps: float) -> Inferred:
        """Faces every 1/sample_fps s: a timeline; the best-detected frame's faces, fused as the mean over all
        analysed frames."""
        import cv2

        cap = cv2.VideoCapture(str(path))
        if not cap.isOpened():
            raise ValueError("not a video OpenCV can open (damaged, or a codec it lacks)")
        w, h = int(cap.get(cv2.CAP_PROP_FRAME_WIDTH)), int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT))
        if w * h > probe.MAX_IMAGE_PIXELS:
            cap.release()
            raise ValueError(f"video frames of {w}x{h} pixels, more than the {probe.MAX_IMAGE_PIXELS / 1e6:.0f} MP "
                             "limit (memory); scale it down first")
        fps = cap.get(cv2.CAP_PROP_FPS)
        fps = fps if 0.5 <= fps <= 1000 else 25.0  # a damaged header's 0 or 90000 fps would make the step absurd
        step = max(1, int(round(fps / sample_fps))) if sample_fps > 0 else 1
        timeline, vecs, best, warnings = [], [], None, []
        size, changed = None, False  # the first frame's (height, width); whether a later frame differs
        index = 0
        try:
            while True:
                ok = cap.grab()
                if not ok:
                    break
                if index % step == 0:
                    if len(timeline) >= MAX_TIMELINE:
                        warnings.append(f"{path}: analysed the first {MAX_TIMELINE} frames only (infer's limit)")
                        break
                    ok, frame = cap.retrieve()
                    if not ok:
                        break
                    if size is None:
                        size = frame.shape[:2]
                    elif frame.shape[:2] != size and not changed:  # boxes in its timeline entry follow the new size
                        changed = True
                        warnings.append(f"{path}: frames change size at frame {index} ({size[1]}x{size[0]} to "
                                        f"{frame.shape[1]}x{frame.shape[0]})")
                    part = self.part(self.faces(frame, timing))
                    timeline.append({"frame": index, "pos_s": round(index / fps, 3), **part.fields})
                    if part.vector is not None:
                        vecs.append(part.vector)
                        faces = part.value
                        if best is None or faces[0].score > best[0][0].score:
                            best = (faces, index)
                index += 1
        finally:
            cap.release()
        if index == 0:
            raise ValueError("video has no decodable frames")
        part = self.part(best[0] if best else [], np.mean(vecs, axis=0) if vecs else None)
        extra: dict[str, Any] = {"frames": index, "analysed_frames": len(timeline), "timeline": timeline}
        if changed:
            extra["resolution_changed"] = True
        return Inferred(part, best[1] if best else None, extra, tuple(warnings))

    # -- the per-frame work, shared by the live loop and `infer` ----------------------------
    def detect(self, image: np.ndarray, timing: dict[str, float]) -> list:
        """Detections worth classifying (detect.min_face_px, detect.max_faces), largest first."""
        from ..detect.base import keep

        t = time.perf_counter()
        d = self.detect_cfg
        dets = keep(self.detector.detect(image), d.max_faces, d.min_face_px)
        timing["detect"] = (time.perf_counter() - t) * 1e3
        return dets

    def classify(self, crops: Sequence[np.ndarray], boxes: Sequence[Sequence[float]], scores: Sequence[float],
                 timing: dict[str, float], keypoints: Sequence[tuple] | None = None) -> list[FaceResult]:
        t = time.perf_counter()
        x = self.classifier.preprocess(crops)
        t1 = time.perf_counter()
        probs = self.classifier.predict(x)
        timing["preprocess"] = (t1 - t) * 1e3
        timing["classify"] = (time.perf_counter() - t1) * 1e3
        return self.classifier.results(boxes, scores, probs, keypoints)

    def faces(self, image: np.ndarray, timing: dict[str, float]) -> list[FaceResult]:
        """Detect, crop (aligned on the keypoints, or the box with the model's margin), classify all faces in one call."""
        dets = self.detect(image, timing)
        if not dets:
            timing.setdefault("preprocess", 0.0)
            timing.setdefault("classify", 0.0)
            return []
        # Crops use the detector's own box (a face cut by the frame edge keeps its centre);
        # published boxes are clipped to the frame.
        h, w = image.shape[:2]
        crops = self.classifier.crops(image, [det.box.to_list() for det in dets], [det.keypoints for det in dets])
        boxes = [det.box.clip(w, h).to_list() for det in dets]
        return self.classify(crops, boxes, [float(det.score) for det in dets], timing, [det.keypoints for det in dets])
