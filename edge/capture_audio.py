"""Audio capture into a fixed ring buffer: a microphone through pyaudio, or a WAV file played in real time."""

from __future__ import annotations

import logging
import threading
import time
from abc import ABC, abstractmethod
from pathlib import Path

import numpy as np

logger = logging.getLogger(__name__)


class RingBuffer:
    """Fixed-size float32 ring; the writer never waits, readers ask for samples since a position."""

    def __init__(self, capacity: int) -> None:
        self._buf = np.zeros(int(capacity), np.float32)
        self._lock = threading.Lock()
        self.written = 0  # total samples ever written; positions are in this count
        self.overwritten = 0  # samples lost because a reader fell more than `capacity` behind

    @property
    def capacity(self) -> int:
        return len(self._buf)

    def write(self, x: np.ndarray) -> None:
        x = np.asarray(x, np.float32).ravel()
        skipped = max(0, len(x) - self.capacity)  # only the newest `capacity` samples can be held
        x = x[skipped:]
        with self._lock:
            self.written += skipped
            start = self.written % self.capacity
            end = start + len(x)
            if end <= self.capacity:
                self._buf[start:end] = x
            else:
                k = self.capacity - start
                self._buf[start:] = x[:k]
                self._buf[:end - self.capacity] = x[k:]
            self.written += len(x)

    def read_since(self, pos: int, upto: int | None = None) -> tuple[np.ndarray, int]:
        """Samples written after `pos` (and before `upto`, if given; as many as are still held) and the new position."""
        with self._lock:
            oldest = max(0, self.written - self.capacity)
            if pos < oldest:
                self.overwritten += oldest - pos
                pos = oldest
            end = self.written if upto is None else max(pos, min(self.written, upto))
            n = end - pos
            start = pos % self.capacity
            idx = (start + np.arange(n)) % self.capacity
            return self._buf[idx].copy(), end


class AudioSource(ABC):
    """Mono float32 samples in -1..1 at `sample_rate`; `read` returns None at the end of a file."""

    sample_rate = 16000
    is_file = False

    @abstractmethod
    def open(self) -> None: ...

    @abstractmethod
    def read(self, frames: int) -> np.ndarray | None: ...

    def close(self) -> None: ...


class WavFileSource(AudioSource):
    is_file = True

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._data: np.ndarray | None = None
        self._pos = 0

    def open(self) -> None:
        from .audio.wav import read_wav

        samples, self.sample_rate = read_wav(self.path)
        self._data = samples.mean(axis=1) if samples.ndim == 2 else samples
        self._pos = 0

    def read(self, frames: int) -> np.ndarray | None:
        if self._pos >= len(self._data):
            return None
        chunk = self._data[self._pos:self._pos + frames]
        self._pos += len(chunk)
        return chunk


class MicSource(AudioSource):
    """A microphone through pyaudio (PortAudio), chosen by index or by part of its name."""

    def __init__(self, device: str = "", sample_rate: int = 16000) -> None:
        self.device, self.sample_rate = device, sample_rate
        self._pa = self._stream = None

    def open(self) -> None:
        try:
            import pyaudio
        except ImportError:
            raise OSError("audio.source = 'mic' needs pyaudio: sudo apt install portaudio19-dev && "
                          "pip install 'edge-emotion[mic]'") from None
        self._pa = pyaudio.PyAudio()
        index = self._find(self.device)
        self._stream = self._pa.open(format=pyaudio.paInt16, channels=1, rate=self.sample_rate, input=True,
                                     input_device_index=index, frames_per_buffer=int(self.sample_rate * 0.05))

    def _find(self, device: str) -> int | None:
        if device == "":
            return None
        if device.isdigit():
            return int(device)
        names = []
        for i in range(self._pa.get_device_count()):
            info = self._pa.get_device_info_by_index(i)
            if info.get("maxInputChannels", 0) > 0:
                names.append(info["name"])
                if device.lower() in info["name"].lower():
                    return i
        raise OSError(f"no microphone matches audio.device = {device!r}; input devices: {', '.join(names) or 'none'}")

    def read(self, frames: int) -> np.ndarray | None:
        raw = self._stream.read(frames, exception_on_overflow=False)
        return np.frombuffer(raw, "<i2").astype(np.float32) / 32768.0

    def close(self) -> None:
        if self._stream is not None:
            self._stream.stop_stream()
            self._stream.close()
        if self._pa is not None:
            self._pa.terminate()
        self._stream = self._pa = None


class AudioCapture:
    """Producer thread: source -> ring buffer, in 50 ms chunks (files paced at real time unless told not to)."""

    CHUNK_S = 0.05  # small enough for timely speech end detection, large enough to keep wakeups cheap

    def __init__(self, source: AudioSource, stop: threading.Event, buffer_s: float = 10.0, realtime: bool = True) -> None:
        self.source, self.stop, self.realtime = source, stop, realtime
        self.buffer_s = buffer_s
        self.ring: RingBuffer | None = None
        self.ended = threading.Event()
        self.error: str | None = None
        self._thread = threading.Thread(target=self._run, name="audio-capture", daemon=True)

    @property
    def sample_rate(self) -> int:
        return self.source.sample_rate

    def start(self) -> "AudioCapture":
        self.source.open()
        self.ring = RingBuffer(int(self.buffer_s * self.source.sample_rate))
        self._thread.start()
        return self

    def _run(self) -> None:
        chunk = max(1, int(self.CHUNK_S * self.source.sample_rate))
        t0, sent = time.monotonic(), 0
        try:
            while not self.stop.is_set():
                if self.source.is_file and self.realtime:
                    ahead = sent / self.source.sample_rate - (time.monotonic() - t0)
                    if ahead > 0 and self.stop.wait(ahead):
                        break
                x = self.source.read(chunk)
                if x is None:
                    break
                self.ring.write(x)
                sent += len(x)
                if self.source.is_file and not self.realtime:
                    # Offline: keep at most half the ring unread so nothing is overwritten.
                    while self.ring.written - self.consumed > self.ring.capacity // 2 and not self.stop.is_set():
                        time.sleep(0.001)
        except Exception as e:  # noqa: BLE001 - report to the loop, which decides
            self.error = f"audio capture failed: {e}"
            logger.exception("audio capture failed")
        finally:
            self.ended.set()

    consumed = 0  # the consumer's read position, for offline back-pressure

    def join(self, timeout: float = 1.0) -> None:
        if self._thread.is_alive():
            self._thread.join(timeout)
        self.source.close()


def make_audio_source(spec: str, device: str = "", sample_rate: int = 16000) -> AudioSource:
    if spec == "mic":
        return MicSource(device, sample_rate)
    return WavFileSource(spec)
