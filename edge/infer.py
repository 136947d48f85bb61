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

from . import result as result_mod
from .capture import probe
from .channels import Part, channel_classes
from .channels.base import InferOptions
from .config import Config
from .fuse.fusion import Fuser
from .text.decode import TextInputError, decode

logger = logging.getLogger(__name__)

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff", ".pgm", ".ppm"}
VIDEO_SUFFIXES = {".mp4", ".avi", ".mkv", ".mov", ".webm", ".m4v", ".mpg", ".mpeg"}
AUDIO_SUFFIXES = {".wav", ".wave"}
TEXT_SUFFIXES = {".txt"}  # UTF-8, one text per line; read when named (a folder's notes and licences are not inputs)
TEXT = probe.FileKind("text", "text")  # a line of a text file, or a `--text` argument
MAX_TEXT_BYTES = 10_000_000  # a text file is read whole: 10 MB is ~100,000 lines of notes


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

    def __init__(self, cfg: Config, need: set[str], crop: bool = False, sample_fps: float = 5.0):
        self.cfg, self.options = cfg, InferOptions(crop, sample_fps)
        self.classes = channel_classes()
        self.channels = {cls.name: cls.from_config(cfg) for cls in self.classes if cls.name in need}
        self.fuser = Fuser.from_config(cfg.fusion, smooth=False)  # files are independent: no smoothing across inputs

    def _result(self, item, kind: probe.FileKind, input_name: str) -> dict[str, Any]:
        """One input through every channel that reads its kind; every other channel says it had no input."""
        timing = {k: 0.0 for k in result_mod.STAGES}
        parts: dict[str, Part] = {}
        frame, extra = None, {"input": input_name}
        for name, ch in self.channels.items():
            if kind.kind in ch.infer_kinds:
                got = ch.infer(item, kind, timing, self.options)
                for warning in got.warnings:
                    logger.warning("%s", warning)
                parts[name] = got.part
                frame = got.frame if frame is None else frame
                extra.update(got.extra)
        full = [parts.get(cls.name) or cls.absent(cls.no_input) for cls in self.classes]
        fused = self.fuser.update({cls.name: p.vector for cls, p in zip(self.classes, full)})
        return result_mod.build(frame, full, fused, timing, **extra)

    def argument(self, text: str) -> dict[str, Any]:
        """A `--text` sentence from the command line; bytes that are not UTF-8 go to the channels as bytes."""
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            raw = os.fsencode(text)  # the bytes as given (the locale's encoding, surrogateescape)
            return self._result(raw, TEXT, raw.decode("utf-8", "replace"))
        return self._result(text, TEXT, text)

    def text_file(self, path: Path) -> list[dict[str, Any]]:
        """One result per non-empty line; a file that is not UTF-8 text is one error."""
        return [self._result(line, TEXT, f"{path}:{n}") for n, line in enumerate(read_text(path).splitlines(), 1)
                if line.strip()]

    def one(self, path: Path, kind: probe.FileKind | None = None) -> list[dict[str, Any]]:
        """The results of one input file: one, or one per line of a text file."""
        if path.suffix.lower() in TEXT_SUFFIXES:
            return self.text_file(path)
        return [self._result(path, kind or probe.sniff(path), str(path))]


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
            kinds[f] = TEXT
            continue
        try:
            kinds[f] = probe.sniff(f)
        except probe.ProbeError as e:
            kinds[f] = e
    found = {k.kind for k in kinds.values() if isinstance(k, probe.FileKind)} | ({TEXT.kind} if texts else set())
    classes = [cls for cls in channel_classes() if found & cls.infer_kinds]  # the channels these inputs need
    check_models(cfg, classes)
    need = {cls.name for cls in classes}
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
