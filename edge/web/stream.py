"""The JPEG encoder behind /stream.mjpg: one thread, working only while someone watches, at a capped rate.

Every viewer gets the same encoded picture (one encode per frame, whatever the number of viewers).
With nobody watching the thread sleeps on the live state's condition and costs nothing.
"""

from __future__ import annotations

import logging
import threading
import time

import cv2

from .live import LiveState
from .metrics import Exposition, Histogram

logger = logging.getLogger(__name__)

# JPEG encoding takes ~2-6 ms for 640x480 on one x86 core and 3-4x that on a Pi 4 core; these buckets cover both.
ENCODE_BUCKETS = (0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1)


class JpegStream:
    """Encodes the newest frame for the viewers, at most `fps` times a second, `width` pixels wide at most."""

    def __init__(self, live: LiveState, stop: threading.Event, fps: float = 5.0, width: int = 640,
                 quality: int = 70, max_viewers: int = 2) -> None:
        self.live, self.stop = live, stop
        self.interval = 1.0 / fps
        self.width, self.quality, self.max_viewers = width, quality, max_viewers
        self.viewers = 0
        self.jpeg: bytes | None = None
        self.jpeg_seq = 0
        self.frames = 0
        self.encode_seconds = Histogram(ENCODE_BUCKETS)
        self._cond = threading.Condition()  # viewers wait on it for the next picture
        self._thread = threading.Thread(target=self._run, name="jpeg-stream", daemon=True)
        live.collectors.append(self._collect)

    def start(self) -> "JpegStream":
        self._thread.start()
        return self

    def join(self, timeout: float) -> None:
        with self.live.cond:
            self.live.cond.notify_all()
        if self._thread.is_alive():
            self._thread.join(timeout)

    # -- viewers --------------------------------------------------------------------------------------
    def add_viewer(self) -> bool:
        """Count one viewer in; False when `max_viewers` are already watching."""
        with self._cond:
            if self.viewers >= self.max_viewers:
                return False
            self.viewers += 1
        with self.live.cond:
            self.live.cond.notify_all()  # wake the encoder
        return True

    def remove_viewer(self) -> None:
        with self._cond:
            self.viewers -= 1

    def next_jpeg(self, after_seq: int, timeout: float = 0.5) -> tuple[int, bytes | None]:
        """The first picture newer than `after_seq`, waiting at most `timeout`; (seq, None) on time-out or stop."""
        with self._cond:
            if self.jpeg_seq <= after_seq and not self.stop.is_set():
                self._cond.wait(timeout)
            if self.jpeg_seq <= after_seq:
                return after_seq, None
            return self.jpeg_seq, self.jpeg

    # -- the encoder thread ---------------------------------------------------------------------------
    def _run(self) -> None:
        last_seq, last_at = 0, 0.0
        while not self.stop.is_set():
            with self.live.cond:
                if self.viewers == 0 or self.live.seq == last_seq:
                    self.live.cond.wait(0.5)
                    continue
            wait = last_at + self.interval - time.monotonic()
            if wait > 0 and self.stop.wait(wait):  # the rate cap
                break
            with self.live.cond:  # the newest frame after the wait
                image, last_seq = self.live.image, self.live.seq
            last_at = time.monotonic()
            try:
                jpeg = self._encode(image)
            except Exception:  # noqa: BLE001 - a bad frame costs the viewers one picture, never the loop
                logger.exception("JPEG encoding failed")
                continue
            self.encode_seconds.observe("jpeg", time.monotonic() - last_at)
            with self._cond:
                self.jpeg, self.jpeg_seq = jpeg, self.jpeg_seq + 1
                self.frames += 1
                self._cond.notify_all()
        with self._cond:
            self._cond.notify_all()

    def _encode(self, image) -> bytes:
        h, w = image.shape[:2]
        if w > self.width:
            image = cv2.resize(image, (self.width, int(round(h * self.width / w))), interpolation=cv2.INTER_AREA)
        ok, buf = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, self.quality])
        if not ok:
            raise ValueError(f"cv2.imencode refused a frame of shape {image.shape}")
        return buf.tobytes()

    def _collect(self, e: Exposition) -> None:
        e.family("stream_viewers", "gauge", "Clients watching /stream.mjpg.", [({}, self.viewers)])
        e.family("stream_frames_total", "counter", "JPEG pictures encoded for /stream.mjpg.", [({}, self.frames)])
        e.histogram("stream_encode_seconds", "Time to scale and JPEG-encode one picture.", self.encode_seconds,
                    "format")
