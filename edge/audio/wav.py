"""WAV files of any rate and channel count, PCM 8/16/24/32-bit or IEEE float, read with numpy alone."""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np

_PCM, _FLOAT, _EXTENSIBLE = 1, 3, 0xFFFE


class WavError(ValueError):
    """A file is not a readable WAV file; the message names the file."""


def _chunks(data: bytes, name: str):
    """Yield (id, payload) for each RIFF chunk; a chunk cut short raises an error naming the file."""
    pos = 12
    while pos + 8 <= len(data):
        cid, size = struct.unpack_from("<4sI", data, pos)
        payload = data[pos + 8:pos + 8 + size]
        if cid == b"data" and size in (0, 0xFFFFFFFF):
            payload = data[pos + 8:]  # a recorder that never finished writing its sizes: take the rest
        elif len(payload) < size:
            raise WavError(f"{name}: truncated WAV file ('{cid.decode('latin-1')}' chunk declares {size} bytes, "
                           f"{len(payload)} present)")
        yield cid, payload
        pos += 8 + size + (size & 1)  # chunks are padded to even length


def _decode(raw: bytes, fmt: int, bits: int, channels: int, name: str) -> np.ndarray:
    width = bits // 8
    frames = len(raw) // (width * channels)
    raw = raw[:frames * width * channels]
    if fmt == _FLOAT and bits in (32, 64):
        return np.frombuffer(raw, f"<f{width}").astype(np.float32)
    if fmt != _PCM:
        raise WavError(f"{name}: unsupported WAV sample format {fmt} with {bits} bits (use PCM or float)")
    if bits == 8:  # 8-bit WAV is unsigned
        return (np.frombuffer(raw, np.uint8).astype(np.float32) - 128.0) / 128.0
    if bits == 16:
        return np.frombuffer(raw, "<i2").astype(np.float32) / 32768.0
    if bits == 24:
        b = np.frombuffer(raw, np.uint8).reshape(-1, 3).astype(np.int32)
        v = b[:, 0] | (b[:, 1] << 8) | (b[:, 2] << 16)
        v = np.where(v >= 1 << 23, v - (1 << 24), v)
        return v.astype(np.float32) / float(1 << 23)
    if bits == 32:
        return (np.frombuffer(raw, "<i4").astype(np.float64) / 2147483648.0).astype(np.float32)
    raise WavError(f"{name}: unsupported PCM width {bits} bits")


def read_wav(path: str | Path) -> tuple[np.ndarray, int]:
    """File -> (float32 samples in -1..1 shaped (frames, channels), sample rate)."""
    p = Path(path)
    try:
        data = p.read_bytes()
    except OSError as e:
        raise WavError(f"{p}: cannot read ({e.strerror or e})") from None
    return parse_wav(data, str(p))


def parse_wav(data: bytes, name: str = "<bytes>") -> tuple[np.ndarray, int]:
    """WAV bytes -> (float32 samples shaped (frames, channels), sample rate)."""
    if len(data) < 12 or data[:4] != b"RIFF" or data[8:12] != b"WAVE":
        raise WavError(f"{name}: not a WAV file (no RIFF/WAVE header)")
    fmt_chunk = samples = None
    for cid, payload in _chunks(data, name):
        if cid == b"fmt ":
            fmt_chunk = payload
        elif cid == b"data":
            samples = payload
            break
    if fmt_chunk is None or len(fmt_chunk) < 16:
        raise WavError(f"{name}: truncated or damaged WAV file (no complete 'fmt ' chunk)")
    if samples is None:
        raise WavError(f"{name}: truncated WAV file (no 'data' chunk)")
    fmt, channels, rate, _, _, bits = struct.unpack_from("<HHIIHH", fmt_chunk)
    if fmt == _EXTENSIBLE and len(fmt_chunk) >= 26:
        fmt = struct.unpack_from("<H", fmt_chunk, 24)[0]  # first two bytes of the sub-format GUID
    if channels < 1 or rate < 1 or bits % 8:
        raise WavError(f"{name}: damaged WAV header ({channels} channels, {rate} Hz, {bits} bits)")
    x = _decode(samples, fmt, bits, channels, name)
    if x.size == 0:
        raise WavError(f"{name}: WAV file holds no samples (truncated?)")
    return x.reshape(-1, channels), int(rate)


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
