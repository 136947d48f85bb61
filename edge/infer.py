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
from .channels import Part
from .channels.face import FaceChannel
from .channels.voice import VoiceChannel
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
    """Runs the channels on whole files; builds the same result objects as the live loop."""

    def __init__(self, cfg: Config, need_video: bool, need_audio: bool, crop: bool = False, sample_fps: float = 5.0):
        self.cfg, self.crop, self.sample_fps = cfg, crop, sample_fps
        self.face = FaceChannel.from_config(cfg) if need_video else None
        self.voice = VoiceChannel.from_config(cfg) if need_audio else None
        self.fuser = Fuser.from_config(cfg.fusion, smooth=False)  # files are independent: no smoothing across inputs

    def _build(self, face: Part, voice: Part, timing: dict[str, float], frame: int | None = None,
               **extra: Any) -> dict[str, Any]:
        fused = self.fuser.update({"face": face.vector, "voice": voice.vector})
        return result_mod.build(frame, [face, voice], fused, timing, **extra)

    def image(self, path: Path, image: np.ndarray | None = None) -> dict[str, Any]:
        if image is None:
            image = cv2.imread(str(path), cv2.IMREAD_COLOR)
            if image is None:
                raise ValueError("not an image OpenCV can decode (missing, truncated or corrupt)")
        timing = {k: 0.0 for k in result_mod.STAGES}
        if self.crop:
            h, w = image.shape[:2]
            faces = self.face.classify([image], [(0, 0, w, h)], [1.0], timing)
        else:
            faces = self.face.faces(image, timing)
        return self._build(self.face.part(faces), VoiceChannel.absent("no audio input"), timing, input=str(path))

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
                    part = self.face.part(self.face.faces(frame, timing))
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
        # A WAV beside the video with the same stem is its sound track (OpenCV reads no audio).
        wav = path.with_suffix(".wav")
        voice = VoiceChannel.absent("no audio track (put <video>.wav beside the video)")
        if self.voice is not None and wav.is_file():
            voice = self.voice.file_part(wav, timing)
        # The video's face part: the best-detected frame's faces, fused as the mean over all analysed frames.
        face = self.face.part(best[0] if best else [], np.mean(vecs, axis=0) if vecs else None)
        return self._build(face, voice, timing, best[1] if best else None,
                           input=str(path), frames=index, analysed_frames=len(timeline), timeline=timeline)

    def audio(self, path: Path) -> dict[str, Any]:
        timing = {k: 0.0 for k in result_mod.STAGES}
        return self._build(FaceChannel.absent(), self.voice.file_part(path, timing), timing, input=str(path))

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
