"""`edge-emotion infer`: images, videos, WAV and text files (and folders of them), and `--text` sentences.

One JSON line per input (per non-empty line of a text file).

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

from .capture import probe
from . import result as result_mod
from .audio.wav import probe_wav
from .channels import Part, channel_classes
from .channels.face import FaceChannel
from .channels.text import TextChannel
from .channels.voice import VoiceChannel
from .config import Config
from .fuse.fusion import Fuser
from .text.decode import TextInputError, decode

logger = logging.getLogger(__name__)

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff", ".pgm", ".ppm"}
VIDEO_SUFFIXES = {".mp4", ".avi", ".mkv", ".mov", ".webm", ".m4v", ".mpg", ".mpeg"}
AUDIO_SUFFIXES = {".wav", ".wave"}
TEXT_SUFFIXES = {".txt"}  # UTF-8, one text per line; read when named (a folder's notes and licences are not inputs)
MAX_TEXT_BYTES = 10_000_000  # a text file is read whole: 10 MB is ~100,000 lines of notes
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


# Why a channel has nothing to say about an input of another kind (the face channel's fields need no reason).
NO_INPUT = {"voice": "no audio input", "text": "no text input"}


class Inferer:
    """Runs the channels on whole files; builds the same result objects as the live loop."""

    def __init__(self, cfg: Config, need: set[str], crop: bool = False, sample_fps: float = 5.0):
        self.cfg, self.crop, self.sample_fps = cfg, crop, sample_fps
        self.face = FaceChannel.from_config(cfg) if "face" in need else None
        self.voice = VoiceChannel.from_config(cfg) if "voice" in need else None
        self.text = TextChannel.from_config(cfg) if "text" in need else None
        self.fuser = Fuser.from_config(cfg.fusion, smooth=False)  # files are independent: no smoothing across inputs

    def _build(self, parts: dict[str, Part], timing: dict[str, float], frame: int | None = None,
               **extra: Any) -> dict[str, Any]:
        """A result from the parts this input gave; every other channel says it had no input."""
        classes = channel_classes()
        full = [parts.get(cls.name) or cls.absent(NO_INPUT.get(cls.name, "")) for cls in classes]
        fused = self.fuser.update({cls.name: p.vector for cls, p in zip(classes, full)})
        return result_mod.build(frame, full, fused, timing, **extra)

    def image(self, path: Path, image: np.ndarray | None = None, fmt: str = "image") -> dict[str, Any]:
        if image is None:
            image = cv2.imread(str(path), cv2.IMREAD_COLOR)  # its size was checked from the header (probe.sniff)
            if image is None:
                raise ValueError(f"truncated or damaged {fmt} file (OpenCV could not decode it)")
        extra: dict[str, Any] = {}
        if fmt == "JPEG" and not probe.jpeg_complete(path):  # decodes anyway, its missing part grey: say so
            extra["truncated"] = True
            logger.warning("%s: truncated JPEG (its image data ends before the end marker); the missing part "
                           "decodes grey and the result is flagged truncated", path)
        timing = {k: 0.0 for k in result_mod.STAGES}
        if self.crop:
            h, w = image.shape[:2]
            faces = self.face.classify([image], [(0, 0, w, h)], [1.0], timing)
        else:
            faces = self.face.faces(image, timing)
        return self._build({"face": self.face.part(faces)}, timing, input=str(path), **extra)

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
        size, changed = None, False  # the first frame's (height, width); whether a later frame differs
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
                    if size is None:
                        size = frame.shape[:2]
                    elif frame.shape[:2] != size and not changed:  # boxes in its timeline entry follow the new size
                        changed = True
                        logger.warning("%s: frames change size at frame %d (%dx%d to %dx%d)", path, index,
                                       size[1], size[0], frame.shape[1], frame.shape[0])
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
        extra = {"resolution_changed": True} if changed else {}
        return self._build({"face": face, "voice": voice}, timing, best[1] if best else None,
                           input=str(path), frames=index, analysed_frames=len(timeline), timeline=timeline, **extra)

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
        return self._build({"voice": self.voice.file_part(path, timing)}, timing, input=str(path))

    def sentence(self, text: str, input_name: str) -> dict[str, Any]:
        timing = {k: 0.0 for k in result_mod.STAGES}
        return self._build({"text": self.text.classify(text, timing)}, timing, input=input_name)

    def argument(self, text: str) -> dict[str, Any]:
        """A `--text` sentence from the command line; bytes that are not UTF-8 are reported as such, never echoed
        as the surrogates Python keeps them in."""
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            raw = os.fsencode(text)  # the bytes as given (the locale's encoding, surrogateescape)
            try:
                decode(raw)
                reason = "not UTF-8 text"
            except TextInputError as e:
                reason = str(e)
            timing = {k: 0.0 for k in result_mod.STAGES}
            return self._build({"text": Part({"text": {"emotion": None, "reason": reason}})}, timing,
                               input=raw.decode("utf-8", "replace"))
        return self.sentence(text, text)

    def text_file(self, path: Path) -> list[dict[str, Any]]:
        """One result per non-empty line; a file that is not UTF-8 text is one error."""
        return [self.sentence(line, f"{path}:{n}") for n, line in enumerate(read_text(path).splitlines(), 1)
                if line.strip()]

    def one(self, path: Path, kind: probe.FileKind | None = None) -> list[dict[str, Any]]:
        """The results of one input file: one, or one per line of a text file."""
        if path.suffix.lower() in TEXT_SUFFIXES:
            return self.text_file(path)
        kind = kind or probe.sniff(path)
        if kind.kind == probe.AUDIO:
            return [self.audio(path)]
        if kind.kind == probe.VIDEO:
            return [self.video(path)]
        return [self.image(path, fmt=kind.format)]


def read_text(path: Path) -> str:
    """A named text file's content; ValueError in a user's words for one that is missing, huge, binary or not UTF-8."""
    if not path.is_file():
        raise ValueError("no such file" if not path.exists() else "not a regular file")
    size = path.stat().st_size
    if size > MAX_TEXT_BYTES:
        raise ValueError(f"{size / 1e6:.0f} MB of text, more than the {MAX_TEXT_BYTES / 1e6:.0f} MB infer reads at "
                         "once; split it, or stream it with `edge-emotion run --text - < FILE`")
    try:
        return decode(path.read_bytes())
    except TextInputError as e:
        raise ValueError(str(e)) from None


def _printable(name: str) -> str:
    """A file name or argument as valid UTF-8 for the JSON line (bytes that are not UTF-8 become U+FFFD)."""
    return os.fsencode(name).decode("utf-8", "replace")


def _short(e: BaseException, path: Path) -> str:
    """An error's message without the file name the JSON line already gives."""
    return str(e).replace(f"{path}: ", "")


def infer_paths(cfg: Config, paths: list[str], crop: bool = False, sample_fps: float = 5.0,
                out: IO[str] | None = None, texts: list[str] | None = None) -> int:
    """Files and folders, then each `--text` sentence; one JSON line per result. Non-zero when every input failed."""
    from .preflight import check_models

    out = out or sys.stdout
    texts = list(texts or [])
    files = list(expand(paths))
    if not files and not texts:
        logger.error("no input files found in %s", ", ".join(paths) or "(none given)")
        return 1
    # What each file is, from its content (text files by name): the models to load follow from it, and
    # unusable files fail here.
    kinds: dict[Path, Any] = {}
    for f in files:
        if f.suffix.lower() in TEXT_SUFFIXES:
            kinds[f] = probe.FileKind("text", "text")
            continue
        try:
            kinds[f] = probe.sniff(f)
        except probe.ProbeError as e:
            kinds[f] = e
    found = {k.kind for k in kinds.values() if isinstance(k, probe.FileKind)}
    need = {name for name, kinds_ in (("face", {probe.IMAGE, probe.VIDEO}), ("voice", {probe.AUDIO, probe.VIDEO}),
                                      ("text", {"text"})) if found & kinds_}
    if texts:
        need.add("text")
    check_models(cfg, face="face" in need, voice="voice" in need, text="text" in need)
    inferer = Inferer(cfg, need, crop=crop, sample_fps=sample_fps)
    results, failed = 0, 0
    inputs = [(f, kinds[f]) for f in files] + [(text, None) for text in texts]
    for f, kind in inputs:
        try:
            if isinstance(kind, Exception):
                raise kind
            lines = inferer.one(f, kind) if kind is not None else [inferer.argument(f)]
        except Exception as e:  # noqa: BLE001 - one input's failure, whatever it is, never ends the batch
            failed += 1
            reason = _short(e, f) if isinstance(e, (OSError, ValueError)) else f"{type(e).__name__}: {e}"
            if isinstance(e, MemoryError):
                reason = "out of memory while processing it"
            lines = [result_mod.error(_printable(str(f)), reason)]
            logger.warning("%s: %s", f, reason)
        results += len(lines)
        try:
            for line in lines:
                out.write(json.dumps(line, separators=(",", ":")) + "\n")
            out.flush()
        except BrokenPipeError:  # `infer ... | head`: nobody reads the rest
            # The interpreter's final flush must not fail on the closed pipe again (Python's documented fix).
            os.dup2(os.open(os.devnull, os.O_WRONLY), out.fileno())
            return 0
    return 1 if failed and failed == results else 0
