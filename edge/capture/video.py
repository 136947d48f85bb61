"""Video capture that never blocks inference: a producer thread keeps only the latest frame.

Sources: camera index or /dev/videoN (V4L2), video files, rtsp/http URLs, GStreamer
pipelines (OpenCV's CAP_GSTREAMER) and the Raspberry Pi camera through picamera2.
A lost camera is reopened with exponential backoff; a file ends the stream.
"""

from __future__ import annotations

import logging
import threading
import time
from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from . import probe
from .probe import MAX_IMAGE_PIXELS
from .stoppable import abandon, call_until_stopped

logger = logging.getLogger(__name__)

KEYWORDS = ("sample", "none", "", "picamera2")
URL_SCHEMES = ("rtsp", "rtsps", "rtmp", "http", "https", "udp", "tcp", "srt")


def source_kind(spec: str) -> str:
    """What a video.source names: 'keyword', 'camera' (index or /dev/...), 'url', 'pipeline' or 'file'."""
    if spec in KEYWORDS:
        return "keyword"
    if spec.isdigit() or spec.startswith("/dev/"):
        return "camera"
    if "!" in spec:  # GStreamer pipeline string, e.g. the Jetson CSI nvarguscamerasrc pipeline
        return "pipeline"
    if "://" in spec:
        return "url"
    return "file"


def check_source(spec: str) -> list[str]:
    """What is wrong with `video.source = spec` before it is opened: a URL scheme OpenCV cannot open, a file that is
    missing, not a video or without one decodable frame (a camera is hardware: `run` reports it when it opens it)."""
    kind = source_kind(spec)
    if kind == "url":
        scheme = spec.split("://", 1)[0].lower()
        if scheme not in URL_SCHEMES:
            return [f"video.source = {spec!r}: unsupported URL scheme {scheme!r} (use {', '.join(URL_SCHEMES)})"]
        return []
    if kind != "file":
        return []  # a camera, a pipeline or a keyword: opened (or reported, exit 3) by `run`
    path, errors = probe.check_file("video.source", spec)
    if path is None or not path.is_file():
        return errors  # a FIFO is read as a stream: nothing to look at before a writer appears
    try:
        found = probe.sniff(path)
    except probe.ProbeError as e:
        return [f"video.source = {spec!r}: {e}"]
    if found.kind == probe.AUDIO:
        return [f"video.source = {spec!r}: {found.format} audio, not a video (put it in audio.source)"]
    return _first_frame(spec, path)


def _first_frame(spec: str, path: Path) -> list[str]:
    """A video file must hold at least one decodable frame of a size within the pixel limit."""
    cap = cv2.VideoCapture(str(path))
    try:
        if not cap.isOpened():
            return [f"video.source = {spec!r}: not a video OpenCV can open (damaged, or a codec it lacks)"]
        w, h = int(cap.get(cv2.CAP_PROP_FRAME_WIDTH)), int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT))
        if w * h > MAX_IMAGE_PIXELS:
            return [f"video.source = {spec!r}: frames of {w}x{h} pixels, more than the "
                    f"{MAX_IMAGE_PIXELS / 1e6:.0f} MP limit (memory)"]
        if not cap.read()[0]:
            return [f"video.source = {spec!r}: no decodable frame (damaged, or a codec OpenCV lacks)"]
    finally:
        cap.release()
    return []


@dataclass(frozen=True)
class Frame:
    index: int  # position in the source (frames read, including dropped ones)
    ts: float  # wall-clock time of capture (time.time())
    pos_s: float  # position in the stream, seconds (file time for files, elapsed time for cameras)
    image: np.ndarray  # BGR uint8
    capture_ms: float  # time spent reading and decoding it
    loop: int = 0  # how many times a looping file had restarted when this frame was read


class LatestFrame:
    """One-slot holder: `put` replaces an unread frame (counted as dropped), `get` waits with a timeout."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._frame: Frame | None = None
        self.dropped = 0
        self.closed = False

    def put(self, frame: Frame) -> None:
        with self._cond:
            if self._frame is not None:
                self.dropped += 1
            self._frame = frame
            self._cond.notify()

    def get(self, timeout: float) -> Frame | None:
        with self._cond:
            if self._frame is None and not self.closed:
                self._cond.wait(timeout)
            frame, self._frame = self._frame, None
            return frame

    @property
    def empty(self) -> bool:
        return self._frame is None

    def close(self) -> None:
        with self._cond:
            self.closed = True
            self._cond.notify_all()


class VideoSource(ABC):
    """One camera or stream; `read` returns a BGR frame or None when the stream has ended or failed."""

    is_file = False
    fps = 0.0

    @abstractmethod
    def open(self) -> None: ...

    @abstractmethod
    def read(self) -> np.ndarray | None: ...

    def position_s(self) -> float | None:
        """File position in seconds where the source knows it."""
        return None

    def close(self) -> None: ...


class OpenCVSource(VideoSource):
    """Camera index, device path, file, URL or GStreamer pipeline through cv2.VideoCapture."""

    def __init__(self, spec: str, width: int = 640, height: int = 480, fps: float = 30.0,
                 open_timeout_s: float = 10.0, read_timeout_s: float = 5.0) -> None:
        self.spec, self.width, self.height, self.req_fps = spec, width, height, fps
        self.open_timeout_s, self.read_timeout_s = open_timeout_s, read_timeout_s
        self.is_file = Path(spec).is_file()  # a FIFO is not: it is read as a stream, and never looped
        self.cap: cv2.VideoCapture | None = None

    def open(self) -> None:
        spec, kind = self.spec, source_kind(self.spec)
        if spec.isdigit():
            cap = cv2.VideoCapture(int(spec), cv2.CAP_V4L2 if hasattr(cv2, "CAP_V4L2") else cv2.CAP_ANY)
        elif kind == "pipeline":
            cap = cv2.VideoCapture(spec, cv2.CAP_GSTREAMER)
        elif kind == "url":
            # FFmpeg's own defaults wait for a silent server far longer than a service may take to stop.
            cap = cv2.VideoCapture(spec, cv2.CAP_FFMPEG, [
                cv2.CAP_PROP_OPEN_TIMEOUT_MSEC, int(self.open_timeout_s * 1000),
                cv2.CAP_PROP_READ_TIMEOUT_MSEC, int(self.read_timeout_s * 1000)])
        else:
            cap = cv2.VideoCapture(spec)
        if not cap.isOpened():
            cap.release()
            raise OSError(f"cannot open video source {spec!r}: {self._hint(spec)}")
        w, h = int(cap.get(cv2.CAP_PROP_FRAME_WIDTH)), int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT))
        if w * h > MAX_IMAGE_PIXELS:  # every decoded frame would take w*h*3 bytes
            cap.release()
            raise OSError(f"video source {spec!r} has frames of {w}x{h} pixels, more than the "
                          f"{MAX_IMAGE_PIXELS / 1e6:.0f} MP limit (memory); scale it down first")
        if not self.is_file:
            cap.set(cv2.CAP_PROP_FRAME_WIDTH, self.width)
            cap.set(cv2.CAP_PROP_FRAME_HEIGHT, self.height)
            cap.set(cv2.CAP_PROP_FPS, self.req_fps)
            cap.set(cv2.CAP_PROP_BUFFERSIZE, 1)  # a camera's own queue would hand us stale frames
        fps = cap.get(cv2.CAP_PROP_FPS)
        # A damaged header can claim 0.001 or 90000 fps; real-time playback would then stall or spin.
        self.fps = fps if 0.5 <= fps <= 1000 else self.req_fps
        self.cap = cap

    @staticmethod
    def _hint(spec: str) -> str:
        if spec.isdigit() or spec.startswith("/dev/"):
            return "check the device exists, the user is in the 'video' group, and nothing else holds it"
        if "://" in spec:
            return "check the URL and that the camera is reachable from here"
        if "!" in spec:
            return "check the pipeline with gst-launch-1.0 and that OpenCV was built with GStreamer"
        return "the file is missing or not a video OpenCV can decode"

    def read(self) -> np.ndarray | None:
        if self.cap is None:  # a reopen after a loss has not succeeded yet
            return None
        ok, frame = self.cap.read()
        return frame if ok else None

    def position_s(self) -> float | None:
        return self.cap.get(cv2.CAP_PROP_POS_MSEC) / 1000.0 if self.is_file else None

    def grab(self) -> bool:
        """Skip one frame without decoding it (files played in real time)."""
        return self.cap.grab()

    def close(self) -> None:
        if self.cap is not None:
            self.cap.release()
            self.cap = None


class Picamera2Source(VideoSource):
    """Raspberry Pi camera (libcamera) through picamera2, imported only when chosen."""

    def __init__(self, width: int = 640, height: int = 480, fps: float = 30.0) -> None:
        self.width, self.height, self.fps = width, height, fps
        self.cam = None

    def open(self) -> None:
        try:
            from picamera2 import Picamera2
        except ImportError:
            raise OSError("video.source = 'picamera2' needs picamera2: sudo apt install python3-picamera2 "
                          "(and create the venv with --system-site-packages)") from None
        self.cam = Picamera2()
        # BGR888 in libcamera's naming is what OpenCV calls BGR; buffer_count=2 keeps latency low.
        config = self.cam.create_video_configuration(main={"size": (self.width, self.height), "format": "BGR888"},
                                                     buffer_count=2, controls={"FrameRate": self.fps})
        self.cam.configure(config)
        self.cam.start()

    def read(self) -> np.ndarray | None:
        if self.cam is None:
            return None
        return self.cam.capture_array("main")

    def close(self) -> None:
        if self.cam is not None:
            self.cam.stop()
            self.cam.close()
            self.cam = None


def make_video_source(spec: str, width: int = 640, height: int = 480, fps: float = 30.0,
                      open_timeout_s: float = 10.0, read_timeout_s: float = 5.0) -> VideoSource:
    if spec == "picamera2":
        return Picamera2Source(width, height, fps)
    return OpenCVSource(spec, width, height, fps, open_timeout_s, read_timeout_s)


class VideoCapture:
    """Producer thread: reads frames into a LatestFrame; reopens a lost camera with backoff."""

    def __init__(self, source: VideoSource, stop: threading.Event, realtime: bool = True, loop: bool = False,
                 reconnect_max_s: float = 30.0, open_timeout_s: float = 10.0) -> None:
        self.source, self.stop, self.realtime, self.loop = source, stop, realtime, loop
        self.reconnect_max_s, self.open_timeout_s = reconnect_max_s, open_timeout_s
        self.latest = LatestFrame()
        self.ended = threading.Event()
        self.frames = 0
        self.reconnects = 0
        self.loops = 0  # times a looping file restarted
        self.error: str | None = None
        self._thread = threading.Thread(target=self._run, name="video-capture", daemon=True)

    @classmethod
    def from_config(cls, spec: str, video, stop: threading.Event) -> "VideoCapture":
        """The capture of `spec` (a resolved video.source) as the [video] section describes it."""
        source = make_video_source(spec, video.width, video.height, video.capture_fps, video.open_timeout_s,
                                   video.read_timeout_s)
        return cls(source, stop, realtime=video.realtime, loop=video.loop, reconnect_max_s=video.reconnect_max_s,
                   open_timeout_s=video.open_timeout_s)

    @property
    def dropped(self) -> int:
        return self.latest.dropped

    def next(self, timeout: float) -> Frame | None:
        """The latest frame, waiting at most `timeout` seconds; None when none came (see `exhausted`)."""
        return self.latest.get(timeout)

    @property
    def exhausted(self) -> bool:
        """The source ended (a file's end, a failure in `error`) and its last frame has been taken."""
        return self.ended.is_set() and self.latest.empty

    @property
    def is_file(self) -> bool:
        return self.source.is_file

    def media_end_s(self, frame: Frame) -> float | None:
        """A file's position at the end of `frame`, the clock the other inputs of a video file follow; None live."""
        if not self.source.is_file:
            return None
        return frame.pos_s + 1.0 / max(self.source.fps, 1.0)

    def start(self) -> "VideoCapture":
        """Open the source (a failure raises: a wrong source is reported, not retried) and start reading.

        A stop request while the source is still opening returns at once, with the capture ended.
        """
        spec = getattr(self.source, "spec", type(self.source).__name__)
        # The grace lets FFmpeg's own open timeout (the same video.open_timeout_s) fire first for network streams.
        if not call_until_stopped(self.source.open, self.stop, self.open_timeout_s, f"video source {spec!r}",
                                  "check that it is reachable, or raise video.open_timeout_s", grace_s=1.0):
            self.ended.set()
            self.latest.close()
            return self
        self._thread.start()
        return self

    def _run(self) -> None:
        t0 = time.monotonic()
        backoff = 0.5
        pass_frames = 0  # frames read since the file (re)started: a loop over a file without any is an error
        try:
            while not self.stop.is_set():
                if self.source.is_file and self.realtime and self.source.fps > 0:
                    # Real-time playback: skip (without decoding) frames whose time has passed.
                    due = self.frames / self.source.fps
                    now = time.monotonic() - t0
                    if due > now:
                        self.stop.wait(due - now)
                    elif now - due > 1.0 / self.source.fps and isinstance(self.source, OpenCVSource):
                        if self.source.grab():
                            self.frames += 1
                            self.latest.dropped += 1
                            continue
                start = time.perf_counter()
                image = self.source.read()
                if image is None:
                    if self.source.is_file:
                        if self.loop and pass_frames:
                            self.source.close()
                            self.source.open()
                            t0, self.frames, pass_frames = time.monotonic(), 0, 0
                            self.loops += 1
                            continue
                        if self.loop or not self.frames:  # looping it would spin at full speed for nothing
                            self.error = f"video file {getattr(self.source, 'spec', '')!r} has no decodable frame"
                        break
                    backoff = self._reopen(backoff)
                    continue
                backoff = 0.5
                pass_frames += 1
                pos = self.source.position_s()
                if pos is None or pos <= 0:
                    pos = self.frames / self.source.fps if self.source.is_file and self.source.fps else time.monotonic() - t0
                self.latest.put(Frame(self.frames, time.time(), pos, image, (time.perf_counter() - start) * 1e3,
                                      self.loops))
                self.frames += 1
                if not self.realtime and self.source.is_file:
                    # Offline processing of a file: wait until the consumer took the frame.
                    while not self.latest.empty and not self.stop.is_set():
                        time.sleep(0.001)
        except Exception as e:  # noqa: BLE001 - a capture failure must reach the loop, not kill the process
            self.error = f"video capture failed: {e}"
            logger.exception("video capture failed")
        finally:
            self.ended.set()
            self.latest.close()

    def _reopen(self, backoff: float) -> float:
        logger.warning("video source %s lost; reopening in %.1f s", getattr(self.source, "spec", self.source), backoff)
        self.source.close()
        if self.stop.wait(backoff):
            return backoff
        try:
            self.source.open()
            self.reconnects += 1
            logger.info("video source reopened")
        except (OSError, RuntimeError) as e:  # picamera2/libcamera report a missing camera as RuntimeError
            logger.warning("%s", e)
        return min(backoff * 2, self.reconnect_max_s)

    def join(self, timeout: float = 1.0) -> None:
        if self._thread.is_alive():
            self._thread.join(timeout)
        if self._thread.is_alive():
            # Still inside a read (a stalled stream): releasing the capture under it could crash in C. The
            # thread is a daemon; the process exits without it.
            logger.warning("video capture did not stop within %.1f s; leaving it to the process exit", timeout)
            abandon(self._thread)
            return
        self.source.close()
