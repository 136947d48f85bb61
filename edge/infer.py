"""`edge-emotion infer`: images, videos and WAV files (and folders of them), one JSON line per input.

An input that cannot be read gives a line with `input` and `error` (and one log line) and the rest
continues; the exit status is non-zero only when every input failed. Each file is recognised by
its content, not its name, and checked from its header before anything decodes it, so memory
stays bounded whatever the input claims (README, "Limits").
"""

from __future__ import annotations

import json
import logging
import os
import sys
from pathlib import Path
from typing import IO, Any, Iterator

import cv2
import numpy as np

from . import probe
from . import result as result_mod
from .audio.wav import probe_wav
from .channels import Part
from .channels.face import FaceChannel
from .channels.voice import VoiceChannel
from .config import Config
from .fuse import Fuser

logger = logging.getLogger(__name__)

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff", ".pgm", ".ppm"}
VIDEO_SUFFIXES = {".mp4", ".avi", ".mkv", ".mov", ".webm", ".m4v", ".mpg", ".mpeg"}
AUDIO_SUFFIXES = {".wav", ".wave"}
# A WAV is classified whole: its features take ~3.6 MB per second of audio (30 s peaks at 169 MB,
# benchmarks/reports/input_memory.md), so 30 s stays well within the 400 MB budget; longer recordings stream
# through `edge-emotion run --audio FILE`.
MAX_AUDIO_S = 30.0
# Timeline entries kept per video: one hour at the default 5 analysed frames per second.
MAX_TIMELINE = 18000


def expand(paths: list[str]) -> Iterator[Path]:
    """Files as given; folders walked recursively for known suffixes, in sorted order (a folder without any
    is yielded itself, so that it gets its error line)."""
    known = IMAGE_SUFFIXES | VIDEO_SUFFIXES | AUDIO_SUFFIXES
    for p in map(Path, paths):
        if p.is_dir():
            found = sorted(f for f in p.rglob("*") if f.is_file() and f.suffix.lower() in known)
            yield from found or [p]
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

    def image(self, path: Path, image: np.ndarray | None = None, fmt: str = "image") -> dict[str, Any]:
        if image is None:
            image = cv2.imread(str(path), cv2.IMREAD_COLOR)  # its size was checked from the header (probe.sniff)
            if image is None:
                raise ValueError(f"truncated or damaged {fmt} file (OpenCV could not decode it)")
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
            raise ValueError("not a video OpenCV can open (damaged, or a codec it lacks)")
        w, h = int(cap.get(cv2.CAP_PROP_FRAME_WIDTH)), int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT))
        if w * h > probe.MAX_IMAGE_PIXELS:
            cap.release()
            raise ValueError(f"video frames of {w}x{h} pixels, more than the {probe.MAX_IMAGE_PIXELS / 1e6:.0f} MP "
                             "limit (memory); scale it down first")
        fps = cap.get(cv2.CAP_PROP_FPS)
        fps = fps if 0.5 <= fps <= 1000 else 25.0  # a damaged header's 0 or 90000 fps would make the step absurd
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
                    if len(timeline) >= MAX_TIMELINE:
                        logger.warning("%s: analysed the first %d frames only (infer's limit)", path, MAX_TIMELINE)
                        break
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
            try:
                self._check_wav(wav)
                voice = self.voice.file_part(wav, timing)
            except ValueError as e:  # a bad sound track costs the voice part, not the video's faces
                voice = VoiceChannel.absent(f"sound track {wav.name} unusable: {_short(e, wav)}")
        # The video's face part: the best-detected frame's faces, fused as the mean over all analysed frames.
        face = self.face.part(best[0] if best else [], np.mean(vecs, axis=0) if vecs else None)
        return self._build(face, voice, timing, best[1] if best else None,
                           input=str(path), frames=index, analysed_frames=len(timeline), timeline=timeline)

    @staticmethod
    def _check_wav(path: Path) -> None:
        info = probe_wav(path)
        if info.duration_s > MAX_AUDIO_S:
            raise ValueError(f"{info.duration_s:.0f} s of audio, more than the {MAX_AUDIO_S:g} s infer classifies at "
                             f"once (memory); cut it into utterances, or stream it with `edge-emotion run --audio "
                             f"{path} --no-video`")

    def audio(self, path: Path) -> dict[str, Any]:
        self._check_wav(path)
        timing = {k: 0.0 for k in result_mod.STAGES}
        return self._build(FaceChannel.absent(), self.voice.file_part(path, timing), timing, input=str(path))

    def one(self, path: Path, kind: probe.FileKind | None = None) -> dict[str, Any]:
        kind = kind or probe.sniff(path)
        if kind.kind == probe.AUDIO:
            return self.audio(path)
        if kind.kind == probe.VIDEO:
            return self.video(path)
        return self.image(path, fmt=kind.format)


def _short(e: BaseException, path: Path) -> str:
    """An error's message without the file name the JSON line already gives."""
    return str(e).replace(f"{path}: ", "")


def infer_paths(cfg: Config, paths: list[str], crop: bool = False, sample_fps: float = 5.0,
                out: IO[str] | None = None) -> int:
    from .preflight import check_models

    out = out or sys.stdout
    files = list(expand(paths))
    if not files:
        logger.error("no input files found in %s", ", ".join(paths))
        return 1
    # What each file is, from its content: the models to load follow from it, and unusable files fail here.
    kinds: dict[Path, Any] = {}
    for f in files:
        try:
            kinds[f] = probe.sniff(f)
        except probe.ProbeError as e:
            kinds[f] = e
    found = {k.kind for k in kinds.values() if isinstance(k, probe.FileKind)}
    need_video, need_audio = bool(found & {probe.IMAGE, probe.VIDEO}), bool(found & {probe.AUDIO, probe.VIDEO})
    check_models(cfg, face=need_video, voice=need_audio)
    inferer = Inferer(cfg, need_video, need_audio, crop=crop, sample_fps=sample_fps)
    failed = 0
    for f in files:
        kind = kinds[f]
        try:
            if isinstance(kind, Exception):
                raise kind
            line = inferer.one(f, kind)
        except Exception as e:  # noqa: BLE001 - one input's failure, whatever it is, never ends the batch
            failed += 1
            reason = _short(e, f) if isinstance(e, (OSError, ValueError)) else f"{type(e).__name__}: {e}"
            if isinstance(e, MemoryError):
                reason = "out of memory while processing it"
            line = result_mod.error(str(f), reason)
            logger.warning("%s: %s", f, reason)
        try:
            out.write(json.dumps(line, separators=(",", ":")) + "\n")
            out.flush()
        except BrokenPipeError:  # `infer ... | head`: nobody reads the rest
            # The interpreter's final flush must not fail on the closed pipe again (Python's documented fix).
            os.dup2(os.open(os.devnull, os.O_WRONLY), out.fileno())
            return 0
    return 1 if failed == len(files) else 0
