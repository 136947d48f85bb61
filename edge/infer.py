"""`edge-emotion infer`: images, videos and WAV files (and folders of them), one JSON line per input.

An input that cannot be read gives a line with `input` and `error` and the rest continues;
the exit status is non-zero only when every input failed.
"""

from __future__ import annotations

import json
import logging
import sys
from pathlib import Path
from typing import IO, Any, Iterator

import cv2
import numpy as np

from . import result as result_mod
from .analyze import Analyzer
from .config import Config
from .fuse import Fuser

logger = logging.getLogger(__name__)

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff", ".pgm", ".ppm"}
VIDEO_SUFFIXES = {".mp4", ".avi", ".mkv", ".mov", ".webm", ".m4v", ".mpg", ".mpeg"}
AUDIO_SUFFIXES = {".wav", ".wave"}


def expand(paths: list[str]) -> Iterator[Path]:
    """Files as given; folders walked recursively for known suffixes, in sorted order."""
    known = IMAGE_SUFFIXES | VIDEO_SUFFIXES | AUDIO_SUFFIXES
    for p in map(Path, paths):
        if p.is_dir():
            yield from sorted(f for f in p.rglob("*") if f.is_file() and f.suffix.lower() in known)
        else:
            yield p


class Inferer:
    """Runs the analyzer on whole files; builds the same result objects as the live loop."""

    def __init__(self, cfg: Config, need_video: bool, need_audio: bool, crop: bool = False, sample_fps: float = 5.0):
        self.cfg, self.crop, self.sample_fps = cfg, crop, sample_fps
        self.an = Analyzer(cfg, video=need_video, audio=need_audio)

    def _fuse(self, face_vec: np.ndarray | None, voice_vec: np.ndarray | None):
        # Files are independent: fuse without smoothing across inputs.
        f = self.cfg.fusion
        return Fuser(f.face_weight, f.voice_weight, f.text_weight, smoothing=0.0).update(
            {"face": face_vec, "voice": voice_vec})

    def _voice(self, wav: Path, timing: dict[str, float]) -> tuple[dict | None, str | None, np.ndarray | None]:
        # Files may come from different speakers: each starts from the model's own normalisation prior,
        # so a file's result does not depend on which files came before it.
        self.an.voice.norm.reset()
        res = self.an.voice.classify_file(wav)
        timing["audio_features"] = res.timing_ms.get("features", 0.0)
        timing["audio_classify"] = res.timing_ms.get("classify", 0.0)
        if res.probs is None:
            return None, res.reason, None
        return res.to_dict(), None, self.an.voice_part(res.probs)

    def image(self, path: Path, image: np.ndarray | None = None) -> dict[str, Any]:
        if image is None:
            image = cv2.imread(str(path), cv2.IMREAD_COLOR)
            if image is None:
                raise ValueError("not an image OpenCV can decode (missing, truncated or corrupt)")
        timing = {k: 0.0 for k in result_mod.STAGES}
        if self.crop:
            h, w = image.shape[:2]
            faces = self.an.classify([image], [(0, 0, w, h)], [1.0], timing)
        else:
            faces = self.an.faces(image, timing)
        fused = self._fuse(self.an.face_part(faces), None)
        return result_mod.build(None, faces, self.an.face.labels, None, "no audio input", fused, timing,
                                input=str(path))

    def video(self, path: Path) -> dict[str, Any]:
        cap = cv2.VideoCapture(str(path))
        if not cap.isOpened():
            raise ValueError("not a video OpenCV can decode (missing, truncated or corrupt)")
        fps = cap.get(cv2.CAP_PROP_FPS) or 25.0
        step = max(1, int(round(fps / self.sample_fps))) if self.sample_fps > 0 else 1
        timeline, vecs, best = [], [], None
        timing = {k: 0.0 for k in result_mod.STAGES}
        index = 0
        try:
            while True:
                ok = cap.grab()
                if not ok:
                    break
                if index % step == 0:
                    ok, frame = cap.retrieve()
                    if not ok:
                        break
                    faces = self.an.faces(frame, timing)
                    entry = {"frame": index, "pos_s": round(index / fps, 3),
                             "faces": [f.to_dict(self.an.face.labels) for f in faces]}
                    timeline.append(entry)
                    if faces:
                        vecs.append(self.an.face_part(faces))
                        if best is None or faces[0].score > best[0][0].score:
                            best = (faces, index)
                index += 1
        finally:
            cap.release()
        if index == 0:
            raise ValueError("video has no decodable frames")
        # A WAV beside the video with the same stem is its sound track (OpenCV reads no audio).
        wav = path.with_suffix(".wav")
        audio, reason, voice_vec = (None, "no audio track (put <video>.wav beside the video)", None)
        if self.an.voice is not None and wav.is_file():
            audio, reason, voice_vec = self._voice(wav, timing)
        face_vec = np.mean(vecs, axis=0) if vecs else None
        fused = self._fuse(face_vec, voice_vec)
        faces = best[0] if best else []
        return result_mod.build(best[1] if best else None, faces, self.an.face.labels, audio, reason, fused, timing,
                                input=str(path), frames=index, analysed_frames=len(timeline), timeline=timeline)

    def audio(self, path: Path) -> dict[str, Any]:
        timing = {k: 0.0 for k in result_mod.STAGES}
        audio, reason, voice_vec = self._voice(path, timing)
        fused = self._fuse(None, voice_vec)
        return result_mod.build(None, [], (), audio, reason, fused, timing, input=str(path))

    def one(self, path: Path) -> dict[str, Any]:
        suffix = path.suffix.lower()
        if not path.exists():
            raise FileNotFoundError("no such file")
        if suffix in AUDIO_SUFFIXES:
            return self.audio(path)
        if suffix in VIDEO_SUFFIXES:
            return self.video(path)
        return self.image(path)


def infer_paths(cfg: Config, paths: list[str], crop: bool = False, sample_fps: float = 5.0,
                out: IO[str] | None = None) -> int:
    out = out or sys.stdout
    files = list(expand(paths))
    if not files:
        logger.error("no input files found in %s", ", ".join(paths))
        return 1
    need_audio = any(f.suffix.lower() in AUDIO_SUFFIXES | VIDEO_SUFFIXES for f in files)
    need_video = any(f.suffix.lower() not in AUDIO_SUFFIXES for f in files)
    inferer = Inferer(cfg, need_video, need_audio, crop=crop, sample_fps=sample_fps)
    failed = 0
    for f in files:
        try:
            line = inferer.one(f)
        except (OSError, ValueError) as e:
            failed += 1
            line = result_mod.error(str(f), str(e))
            logger.warning("%s: %s", f, e)
        out.write(json.dumps(line, separators=(",", ":")) + "\n")
        out.flush()
    return 1 if failed == len(files) else 0
