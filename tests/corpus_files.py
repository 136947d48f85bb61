"""Hostile and odd input files for the adversarial corpus, generated (never downloaded).

Each builder writes one file (or folder, FIFO, link) under a directory and returns its path. The
headers are written byte by byte, so a file can claim what no encoder would write: 32000x32000
pixels in 200 bytes, a 1 Hz WAV, a data chunk of 4 GB in a file of 100 bytes.
"""

from __future__ import annotations

import os
import struct
import zlib
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "datasets"
SPEECH = DATA / "emodb" / "wav" / "03a01Wa.wav"  # anger, 1.9 s, 16-bit mono 22.05 kHz
PHOTOS = DATA / "face-photos" / "images"


# --- WAV ---------------------------------------------------------------------------------------------------

def fmt_chunk(fmt: int = 1, channels: int = 1, rate: int = 16000, bits: int = 16, extensible: bool = False) -> bytes:
    block = channels * bits // 8
    body = struct.pack("<HHIIHH", 0xFFFE if extensible else fmt, channels, rate, rate * block, block, bits)
    if extensible:  # cbSize, valid bits, channel mask, then the sub-format GUID (its first two bytes: the format)
        body += struct.pack("<HHI", 22, bits, 4) + struct.pack("<H", fmt) + bytes.fromhex("000000001000800000aa00389b71")
    return b"fmt " + struct.pack("<I", len(body)) + body


def riff(*chunks: bytes) -> bytes:
    body = b"WAVE" + b"".join(chunks)
    return b"RIFF" + struct.pack("<I", len(body)) + body


def data_chunk(raw: bytes, declared: int | None = None) -> bytes:
    return b"data" + struct.pack("<I", len(raw) if declared is None else declared) + raw


def pcm16(x: np.ndarray) -> bytes:
    return (np.clip(x, -1, 1) * 32767).astype("<i2").tobytes()


def speech(rate: int = 16000, seconds: float | None = None) -> np.ndarray:
    """Real speech (Emo-DB) resampled to `rate`, repeated to `seconds` if given."""
    from edge.audio.resample import resample
    from edge.audio.wav import read_wav, to_mono

    x, r = read_wav(SPEECH)
    y = resample(to_mono(x), r, rate)
    if seconds is not None:
        n = int(seconds * rate)
        y = np.tile(y, n // len(y) + 1)[:n]
    return y


def write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


# --- images ------------------------------------------------------------------------------------------------

def png_chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)


def png_header(w: int, h: int) -> bytes:
    return b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0))


def png_bomb(w: int, h: int) -> bytes:
    """A PNG that declares w x h RGB pixels, with one deflate stream of zero rows (tiny: zeros compress well)."""
    rows = zlib.compressobj(9)
    row = b"\0" * (1 + 3 * min(w, 4096))
    idat = b"".join(rows.compress(row) for _ in range(64)) + rows.flush()
    return png_header(w, h) + png_chunk(b"IDAT", idat) + png_chunk(b"IEND", b"")


def jpeg_header(w: int, h: int, body: bytes = b"") -> bytes:
    sof = b"\xff\xc0" + struct.pack(">HBHHB", 17, 8, h, w, 3) + b"\x01\x22\x00\x02\x11\x01\x03\x11\x01"
    return b"\xff\xd8" + b"\xff\xe0" + struct.pack(">H", 16) + b"JFIF\0\x01\x01\0\0\x01\0\x01\0\0" + sof + body + b"\xff\xd9"


def bmp_header(w: int, h: int) -> bytes:
    info = struct.pack("<IiiHHIIiiII", 40, w, h, 1, 24, 0, 0, 2835, 2835, 0, 0)
    return b"BM" + struct.pack("<IHHI", 14 + 40 + 16, 0, 0, 54) + info + b"\0" * 16


def webp_vp8x(w: int, h: int) -> bytes:
    body = b"VP8X" + struct.pack("<I", 10) + b"\0\0\0\0" + (w - 1).to_bytes(3, "little") + (h - 1).to_bytes(3, "little")
    return b"RIFF" + struct.pack("<I", 4 + len(body)) + b"WEBP" + body


def tiff_header(w: int, h: int) -> bytes:
    entries = struct.pack("<HHII", 256, 4, 1, w) + struct.pack("<HHII", 257, 4, 1, h)
    return b"II*\0" + struct.pack("<I", 8) + struct.pack("<H", 2) + entries + struct.pack("<I", 0)


def face_photo() -> np.ndarray:
    return cv2.imread(str(sorted(PHOTOS.glob("*"))[0]), cv2.IMREAD_COLOR)


def big_progressive_jpeg(path: Path, w: int, h: int) -> Path:
    """A real, decodable progressive JPEG of w x h (the costliest kind to decode), with a face pasted in."""
    img = np.empty((h, w, 3), np.uint8)
    img[:] = np.linspace(40, 200, w, dtype=np.uint8)[None, :, None]
    face = cv2.resize(face_photo(), (h // 3, h // 3))
    img[h // 3:h // 3 + face.shape[0], w // 3:w // 3 + face.shape[1]] = face
    cv2.imwrite(str(path), img, [cv2.IMWRITE_JPEG_PROGRESSIVE, 1, cv2.IMWRITE_JPEG_QUALITY, 90])
    return path


def tiny_video(path: Path, frames: int = 10, size: tuple[int, int] = (64, 48), fps: float = 10.0) -> Path:
    w = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), fps, size)
    for i in range(frames):
        w.write(np.full((size[1], size[0], 3), (i * 20) % 256, np.uint8))
    w.release()
    return path


def fifo(path: Path) -> Path:
    os.mkfifo(path)
    return path


def symlink_loop(path: Path) -> Path:
    other = path.with_name(path.name + ".other")
    os.symlink(other, path)
    os.symlink(path, other)
    return path
