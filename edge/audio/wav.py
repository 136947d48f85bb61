"""WAV files of any rate and channel count, PCM 8/16/24/32-bit or IEEE float, read with numpy alone.

The header is checked before any sample is read (rate, channels, sample width, declared size
against the file's size), so a damaged or hostile header costs a few bytes, never gigabytes.
`WavReader` streams the samples in chunks; `read_wav` reads a whole file, at most `max_s` long.
"""

from __future__ import annotations

import io
import logging
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import numpy as np

logger = logging.getLogger(__name__)

_PCM, _FLOAT, _EXTENSIBLE = 1, 3, 0xFFFE
# Sanity limits for headers. Below 4 kHz speech is unintelligible (telephone audio is 8 kHz) and a 1 Hz header
# would make the resampler produce 16000 samples per input sample; 384 kHz is the highest rate audio
# interfaces record; 32 channels covers every microphone array.
MIN_RATE, MAX_RATE, MAX_CHANNELS = 4000, 384000, 32
_MAX_FMT_BYTES = 1 << 16  # a 'fmt ' chunk is 16-40 bytes; anything this large is damage, not a format
_FORMATS = {(_PCM, 8), (_PCM, 16), (_PCM, 24), (_PCM, 32), (_FLOAT, 32), (_FLOAT, 64)}


# Float WAVs may go over full scale (±1), but not by this much: 1000 is 60 dB over it, beyond any real recording's
# headroom; samples past it (a header that calls integers floats, garbage, ±1e30) are no audio at all.
MAX_FLOAT_SAMPLE = 1000.0
INVALID_AUDIO = "invalid_audio"  # the reason given for such samples (audio_reason), and the word the log uses


def invalid_samples(x: np.ndarray) -> str | None:
    """Why float samples are not audio (NaN, infinite, or far beyond full scale), or None when they are."""
    finite = np.isfinite(x)
    if not finite.all():
        return (f"{INVALID_AUDIO}: {int(x.size - np.count_nonzero(finite))} of {x.size} samples are NaN or "
                "infinite (a damaged float WAV)")
    peak = float(np.max(np.abs(x))) if x.size else 0.0
    if peak > MAX_FLOAT_SAMPLE:
        return (f"{INVALID_AUDIO}: samples up to {peak:.3g}, far beyond full scale (1.0; more than {MAX_FLOAT_SAMPLE:g} "
                "is not audio): a damaged float WAV, or integer samples labelled float")
    return None


class WavError(ValueError):
    """A file is not a readable WAV file; the message names the file."""


@dataclass(frozen=True)
class WavInfo:
    """What a WAV header says, checked: where the samples are and how they are coded."""

    fmt: int  # _PCM or _FLOAT
    channels: int
    rate: int
    bits: int
    offset: int  # byte offset of the first sample
    frames: int  # samples per channel present in the file

    @property
    def block(self) -> int:
        return self.channels * self.bits // 8

    @property
    def duration_s(self) -> float:
        return self.frames / self.rate


def _info(f: BinaryIO, size: int, name: str) -> WavInfo:
    """Walk the RIFF chunks by their headers (seeking over payloads) up to the 'data' chunk."""
    head = f.read(12)
    if len(head) < 12 or head[:4] != b"RIFF" or head[8:12] != b"WAVE":
        raise WavError(f"{name}: not a WAV file (no RIFF/WAVE header)")
    pos, fmt = 12, None
    while pos + 8 <= size:
        f.seek(pos)
        cid, csize = struct.unpack("<4sI", f.read(8))
        body = pos + 8
        if cid == b"data":
            if csize in (0, 0xFFFFFFFF):
                csize = size - body  # a recorder that never finished writing its sizes: take the rest
            elif body + csize > size:
                raise WavError(f"{name}: truncated WAV file ('data' chunk declares {csize} bytes, "
                               f"{size - body} present)")
            if fmt is None:
                break
            return _check_format(fmt, body, csize, name)
        if body + csize > size:
            raise WavError(f"{name}: truncated WAV file ('{cid.decode('latin-1')}' chunk declares {csize} bytes, "
                           f"{size - body} present)")
        if cid == b"fmt ":
            if csize > _MAX_FMT_BYTES:
                raise WavError(f"{name}: damaged WAV header ('fmt ' chunk of {csize} bytes)")
            fmt = f.read(csize)
        pos = body + csize + (csize & 1)  # chunks are padded to even length
    if fmt is None or len(fmt) < 16:
        raise WavError(f"{name}: truncated or damaged WAV file (no complete 'fmt ' chunk before the samples)")
    raise WavError(f"{name}: truncated WAV file (no 'data' chunk)")


def _check_format(fmt_chunk: bytes, offset: int, nbytes: int, name: str) -> WavInfo:
    if len(fmt_chunk) < 16:
        raise WavError(f"{name}: truncated or damaged WAV file (no complete 'fmt ' chunk before the samples)")
    fmt, channels, rate, _, _, bits = struct.unpack_from("<HHIIHH", fmt_chunk)
    if fmt == _EXTENSIBLE and len(fmt_chunk) >= 26:
        fmt = struct.unpack_from("<H", fmt_chunk, 24)[0]  # first two bytes of the sub-format GUID
    if not 1 <= channels <= MAX_CHANNELS or not MIN_RATE <= rate <= MAX_RATE:
        raise WavError(f"{name}: damaged or unusable WAV header ({channels} channels, {rate} Hz; this reads "
                       f"1-{MAX_CHANNELS} channels at {MIN_RATE}-{MAX_RATE} Hz)")
    if (fmt, bits) not in _FORMATS:
        kind = {_PCM: "PCM", _FLOAT: "float"}.get(fmt, f"format {fmt}")
        raise WavError(f"{name}: unsupported WAV sample format ({kind}, {bits} bits); use 8/16/24/32-bit PCM or "
                       "32/64-bit float, e.g. ffmpeg -i IN -c:a pcm_s16le OUT.wav")
    info = WavInfo(fmt, channels, int(rate), bits, offset, 0)
    frames = nbytes // info.block
    if frames == 0:
        raise WavError(f"{name}: WAV file holds no samples (empty or truncated)")
    return WavInfo(fmt, channels, int(rate), bits, offset, frames)


def _decode(raw: bytes, info: WavInfo) -> np.ndarray:
    """Sample bytes -> float32 (frames, channels) in -1..1."""
    width = info.bits // 8
    raw = raw[:len(raw) // info.block * info.block]
    if info.fmt == _FLOAT:
        x = np.frombuffer(raw, f"<f{width}").astype(np.float32)
    elif info.bits == 8:  # 8-bit WAV is unsigned
        x = (np.frombuffer(raw, np.uint8).astype(np.float32) - 128.0) / 128.0
    elif info.bits == 16:
        x = np.frombuffer(raw, "<i2").astype(np.float32) / 32768.0
    elif info.bits == 24:
        b = np.frombuffer(raw, np.uint8).reshape(-1, 3).astype(np.int32)
        v = b[:, 0] | (b[:, 1] << 8) | (b[:, 2] << 16)
        x = np.where(v >= 1 << 23, v - (1 << 24), v).astype(np.float32) / float(1 << 23)
    else:
        x = (np.frombuffer(raw, "<i4").astype(np.float64) / 2147483648.0).astype(np.float32)
    return x.reshape(-1, info.channels)


def _open(path: str | Path) -> BinaryIO:
    p = Path(path)
    if p.is_dir():
        raise WavError(f"{p}: is a folder, not a WAV file")
    try:
        return open(p, "rb")
    except OSError as e:
        raise WavError(f"{p}: cannot read ({e.strerror or e})") from None


def _size(f: BinaryIO) -> int:
    return f.seek(0, io.SEEK_END)


def probe_wav(path: str | Path) -> WavInfo:
    """The checked header of a WAV file; reads a few hundred bytes at most."""
    with _open(path) as f:
        size = _size(f)
        f.seek(0)
        return _info(f, size, str(path))


def read_wav(path: str | Path, max_s: float | None = None) -> tuple[np.ndarray, int]:
    """File -> (float32 samples in -1..1 shaped (frames, channels), sample rate); longer than `max_s`: WavError."""
    with _open(path) as f:
        size = _size(f)
        f.seek(0)
        info = _info(f, size, str(path))
        if max_s is not None and info.duration_s > max_s:
            raise WavError(f"{path}: {info.duration_s:.0f} s of audio, more than the {max_s:g} s read at once "
                           "(memory); cut it into utterances, or stream it with `edge-emotion run --audio FILE`")
        f.seek(info.offset)
        return _decode(f.read(info.frames * info.block), info), info.rate


def parse_wav(data: bytes, name: str = "<bytes>") -> tuple[np.ndarray, int]:
    """WAV bytes -> (float32 samples shaped (frames, channels), sample rate)."""
    info = _info(io.BytesIO(data), len(data), name)
    return _decode(data[info.offset:info.offset + info.frames * info.block], info), info.rate


class WavReader:
    """Streams a WAV file's samples chunk by chunk; memory does not grow with the file's length."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.invalid = 0  # chunks that held invalid samples (read as silence)
        self._f = _open(path)
        try:
            size = _size(self._f)
            self._f.seek(0)
            self.info = _info(self._f, size, str(path))
        except BaseException:
            self._f.close()
            raise
        self.rewind()

    def rewind(self) -> None:
        self._f.seek(self.info.offset)
        self._left = self.info.frames

    def read(self, frames: int) -> np.ndarray | None:
        """Up to `frames` samples as float32 (n, channels); None at the end of the file."""
        n = min(int(frames), self._left)
        if n <= 0:
            return None
        raw = self._f.read(n * self.info.block)
        if len(raw) < self.info.block:  # the file shrank while being read
            self._left = 0
            return None
        x = _decode(raw, self.info)
        self._left -= len(x)
        if self.info.fmt == _FLOAT:
            why = invalid_samples(x)
            if why is not None:  # streamed on: such samples are silence, said once per file
                if not self.invalid:
                    logger.warning("%s: %s; read as silence", self.path, why)
                self.invalid += 1
                x = np.where(np.isfinite(x) & (np.abs(x) <= MAX_FLOAT_SAMPLE), x, 0.0).astype(np.float32)
        return x

    def close(self) -> None:
        self._f.close()


def to_mono(x: np.ndarray) -> np.ndarray:
    """(frames, channels) or (frames,) -> (frames,) float32, channels averaged."""
    x = np.asarray(x, np.float32)
    return x.mean(axis=1) if x.ndim == 2 else x


def write_wav(path: str | Path, x: np.ndarray, rate: int, bits: int = 16) -> None:
    """Float samples (frames,) or (frames, channels) -> PCM 16/24-bit or float32 (bits=32) WAV."""
    x = np.asarray(x, np.float32)
    x2 = x.reshape(len(x), -1)
    channels = x2.shape[1]
    if bits == 32:
        fmt, raw = _FLOAT, x2.astype("<f4").tobytes()
    else:
        q = np.clip(np.round(x2 * (1 << (bits - 1))), -(1 << (bits - 1)), (1 << (bits - 1)) - 1).astype(np.int32)
        fmt = _PCM
        raw = q.astype("<i2").tobytes() if bits == 16 else np.stack(
            [(q >> s) & 0xFF for s in (0, 8, 16)], axis=-1).astype(np.uint8).tobytes()
    block = channels * bits // 8
    fmt_chunk = struct.pack("<HHIIHH", fmt, channels, rate, rate * block, block, bits)
    body = b"WAVE" + b"fmt " + struct.pack("<I", 16) + fmt_chunk + b"data" + struct.pack("<I", len(raw)) + raw
    Path(path).write_bytes(b"RIFF" + struct.pack("<I", len(body)) + body)
