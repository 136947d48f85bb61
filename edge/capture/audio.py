"""Audio capture into a fixed ring buffer: a microphone through pyaudio, or a WAV file played in real time."""

from __future__ import annotations

import logging
import threading
import time
from abc import ABC, abstractmethod
from pathlib import Path

import numpy as np

from .stoppable import abandon, call_until_stopped

logger = logging.getLogger(__name__)


def check_source(spec: str) -> list[str]:
    """What is wrong with `audio.source = spec` before it is opened: a WAV file that is missing or does not decode
    (a microphone is hardware: `run` reports it when it opens it)."""
    from ..audio.wav import WavError, probe_wav
    from . import probe

    if spec == "mic":
        return []  # hardware: opened (or reported, exit 3) by `run`
    path, errors = probe.check_file("audio.source", spec)
    if path is None:
        return errors
    if not path.is_file():
        return [f"audio.source = {spec!r}: not a regular file (a FIFO or device); give a WAV file or 'mic'"]
    try:
        found = probe.sniff(path)
        if found.kind != probe.AUDIO:
            return [f"audio.source = {spec!r}: {found.format} {found.kind}, not a WAV file"]
        probe_wav(path)
    except (probe.ProbeError, WavError) as e:
        return [f"audio.source = {spec!r}: {str(e).replace(str(path) + ': ', '')}"]
    return []


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
    """A WAV file streamed chunk by chunk: memory does not grow with its length."""

    is_file = True

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._reader = None

    def open(self) -> None:
        from ..audio.wav import WavError, WavReader

        try:
            self._reader = WavReader(self.path)
        except WavError as e:
            raise OSError(f"audio.source: {e}") from None
        self.sample_rate = self._reader.info.rate

    def rewind(self) -> None:
        self._reader.rewind()

    def read(self, frames: int) -> np.ndarray | None:
        from ..audio.wav import to_mono

        x = self._reader.read(frames)
        return None if x is None else to_mono(x)

    def close(self) -> None:
        if self._reader is not None:
            self._reader.close()
            self._reader = None


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
        try:
            index = self._find(self.device)
            self._stream = self._pa.open(format=pyaudio.paInt16, channels=1, rate=self.sample_rate, input=True,
                                         input_device_index=index, frames_per_buffer=int(self.sample_rate * 0.05))
        except (OSError, ValueError) as e:  # PortAudio's errors: no device, busy, unsupported rate
            self.close()
            if isinstance(e, OSError) and str(e).startswith("no microphone"):
                raise
            raise OSError(f"cannot open the microphone (audio.device = {self.device!r}, audio.sample_rate = "
                          f"{self.sample_rate}): {e}; input devices: {', '.join(self._inputs) or 'none'}") from None

    def _find(self, device: str) -> int | None:
        """The PortAudio index of the configured input device, checked against the device list.

        PortAudio is never handed an index it did not list: some builds crash (SIGSEGV) on one.
        """
        inputs = {}
        for i in range(self._pa.get_device_count()):
            info = self._pa.get_device_info_by_index(i)
            if info.get("maxInputChannels", 0) > 0:
                inputs[i] = str(info.get("name", f"device {i}"))
        self._inputs = [f"{i}: {name}" for i, name in inputs.items()]
        listing = f"input devices: {', '.join(self._inputs) or 'none (no sound card found)'}"
        if device == "":
            if not inputs:
                raise OSError(f"no microphone: {listing}")
            return None
        if device.isdigit():
            if int(device) not in inputs:
                raise OSError(f"no microphone with index {device} (audio.device); {listing}")
            return int(device)
        for i, name in inputs.items():
            if device.lower() in name.lower():
                return i
        raise OSError(f"no microphone matches audio.device = {device!r}; {listing}")

    _inputs: list = []

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


class _RingReader:
    """What both audio captures give their reader: `read` the new samples, keeping its own position."""

    ring: RingBuffer
    ended: threading.Event
    position = 0  # samples read so far (the reader's position in the stream); the producer waits on it offline

    def read(self, upto: int | None = None) -> np.ndarray:
        """The samples written since the previous read (up to stream sample `upto`, if given); as many as the ring
        still holds, the rest counted as overwritten."""
        samples, self.position = self.ring.read_since(self.position, upto)
        return samples

    @property
    def exhausted(self) -> bool:
        """The source ended and every sample has been read."""
        return self.ended.is_set() and self.ring.written == self.position


class AudioCapture(_RingReader):
    """Producer thread: source -> ring buffer, in 50 ms chunks (files paced at real time unless told not to)."""

    CHUNK_S = 0.05  # small enough for timely speech end detection, large enough to keep wakeups cheap

    def __init__(self, source: AudioSource, stop: threading.Event, buffer_s: float = 10.0, realtime: bool = True,
                 loop: bool = False, open_timeout_s: float = 10.0) -> None:
        self.source, self.stop, self.realtime, self.loop = source, stop, realtime, loop
        self.buffer_s, self.open_timeout_s = buffer_s, open_timeout_s
        self.ring: RingBuffer | None = None
        self.ended = threading.Event()
        self.error: str | None = None
        self._thread = threading.Thread(target=self._run, name="audio-capture", daemon=True)

    @property
    def sample_rate(self) -> int:
        return self.source.sample_rate

    def start(self) -> "AudioCapture":
        """Open the source (a failure raises) and start reading; a stop request while opening returns at once."""
        self.ring = RingBuffer(1)  # replaced once the rate is known; readers find it empty until then
        if not call_until_stopped(self.source.open, self.stop, self.open_timeout_s, "audio source"):
            self.ended.set()
            return self
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
                    if self.loop and self.source.is_file and sent:
                        self.source.rewind()
                        t0, sent = time.monotonic(), 0
                        continue
                    break
                self.ring.write(x)
                sent += len(x)
                if self.source.is_file and not self.realtime:
                    # Offline: keep at most half the ring unread so nothing is overwritten.
                    while self.ring.written - self.position > self.ring.capacity // 2 and not self.stop.is_set():
                        time.sleep(0.001)
        except Exception as e:  # noqa: BLE001 - report to the loop, which decides
            self.error = f"audio capture failed: {e}"
            logger.exception("audio capture failed")
        finally:
            self.ended.set()

    def join(self, timeout: float = 1.0) -> None:
        if self._thread.is_alive():
            self._thread.join(timeout)
        if self._thread.is_alive():  # inside a read: closing the stream under it could crash in C
            logger.warning("audio capture did not stop within %.1f s; leaving it to the process exit", timeout)
            abandon(self._thread)
            return
        self.source.close()


class FollowingAudio(_RingReader):
    """A WAV file read on demand up to a media position (the video file's clock), not paced by the wall clock.

    With a video file and its sound track, the voice must hear what the frame shows: however long
    start-up took and however many frames real-time playback dropped, `fill_until` reads the WAV
    exactly up to the frame's position, and `restart` goes back to its start when a looping video does.
    Same reading interface as AudioCapture (read, exhausted, position, sample_rate, join).
    """

    CHUNK_S = 0.5  # read size: one system call per half second of audio at most

    def __init__(self, source: AudioSource, stop: threading.Event, buffer_s: float = 10.0,
                 open_timeout_s: float = 10.0) -> None:
        self.source, self.stop, self.buffer_s, self.open_timeout_s = source, stop, buffer_s, open_timeout_s
        self.ring = RingBuffer(1)
        self.ended = threading.Event()
        self.error: str | None = None

    @property
    def sample_rate(self) -> int:
        return self.source.sample_rate

    def start(self) -> "FollowingAudio":
        if not call_until_stopped(self.source.open, self.stop, self.open_timeout_s, "audio source"):
            self.ended.set()
            return self
        self.ring = RingBuffer(int(self.buffer_s * self.source.sample_rate))
        return self

    def read(self, upto: int | None = None) -> np.ndarray:
        """Read the file up to stream sample `upto` first, then as AudioCapture.read."""
        if upto is not None:
            self.fill_until(upto)
        return super().read(upto)

    def fill_until(self, pos: int) -> None:
        """Read the file up to sample `pos` of the stream (what the ring already holds is not read again)."""
        chunk = max(1, int(self.CHUNK_S * self.sample_rate))
        while self.ring.written < pos and not self.ended.is_set():
            x = self.source.read(min(chunk, pos - self.ring.written))
            if x is None:
                self.ended.set()
                break
            self.ring.write(x)

    def restart(self) -> None:
        """Back to the file's start with an empty ring (positions start again at 0)."""
        self.source.rewind()
        self.ring = RingBuffer(self.ring.capacity)
        self.ended.clear()
        self.position = 0

    def join(self, timeout: float = 1.0) -> None:
        self.source.close()


def make_audio_source(spec: str, device: str = "", sample_rate: int = 16000) -> AudioSource:
    if spec == "mic":
        return MicSource(device, sample_rate)
    return WavFileSource(spec)
