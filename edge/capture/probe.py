"""What a file is, from its first bytes, before anything decodes it.

Images: the pixel size is read from the header (JPEG, PNG, BMP, WebP, TIFF, PNM), so a 1 MB
file that declares 32000x32000 pixels is refused before OpenCV allocates 3 GB for it. Other
files are named by their signature (MP3, FLAC, Ogg, PDF, ...) so that the error says what the
file is and what to do, not that it is "corrupt".
"""

from __future__ import annotations

import re
import stat
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

# Decoding an image costs ~6 bytes per pixel at its peak (a progressive JPEG keeps 16-bit coefficients for its
# components while the BGR output is written; a 16-bit PNG is similar): `infer` on a 24 MP (6000x4000) image
# peaks at 204 MB, on a 1x1 image at 69 MB (benchmarks/reports/input_memory.md). 24 MP keeps within half the
# 400 MB budget, leaving room for EXIF rotation copies and a Jetson's larger libraries.
MAX_IMAGE_PIXELS = 24_000_000
SNIFF_BYTES = 64

IMAGE, AUDIO, VIDEO = "image", "audio", "video"


class ProbeError(ValueError):
    """The file cannot be used; the message says what it is and what to do (no file name: the caller adds it)."""


class _Truncated(Exception):
    """The file ends inside its header."""


@dataclass(frozen=True)
class FileKind:
    """What a file holds: `kind` (image, audio, video) and `format` ('JPEG', 'WAV', 'MP4', ...)."""

    kind: str
    format: str
    width: int = 0  # images: pixels, from the header
    height: int = 0


# (signature test, format, kind or None when edge-emotion cannot read it, the fix)
_TO_WAV = "convert it: ffmpeg -i IN -ac 1 -ar 16000 OUT.wav"
_TO_JPEG = "convert it to JPEG or PNG"


def _ftyp(head: bytes) -> str:
    return head[8:12].decode("latin-1") if head[4:8] == b"ftyp" else ""


_SIGNATURES = (
    (lambda h: h[:4] == b"RIFF" and h[8:12] == b"WAVE", "WAV", AUDIO, ""),
    (lambda h: h[:4] == b"RIFF" and h[8:12] == b"WEBP", "WebP", IMAGE, ""),
    (lambda h: h[:4] == b"RIFF" and h[8:12] == b"AVI ", "AVI", VIDEO, ""),
    (lambda h: h[:3] == b"\xff\xd8\xff", "JPEG", IMAGE, ""),
    (lambda h: h[:8] == b"\x89PNG\r\n\x1a\n", "PNG", IMAGE, ""),
    (lambda h: h[:2] == b"BM", "BMP", IMAGE, ""),
    (lambda h: h[:4] in (b"II*\0", b"MM\0*"), "TIFF", IMAGE, ""),
    (lambda h: re.match(rb"P[1-6]\s", h[:3]) is not None, "PNM", IMAGE, ""),
    (lambda h: _ftyp(h) in ("M4A ", "M4B ", "M4P "), "M4A/AAC", None, _TO_WAV),
    (lambda h: _ftyp(h) in ("heic", "heix", "heim", "heis", "mif1", "msf1", "avif", "avis"), "HEIC/AVIF", None,
     _TO_JPEG),
    (lambda h: _ftyp(h) != "", "MP4/MOV", VIDEO, ""),
    (lambda h: h[:4] == b"\x1a\x45\xdf\xa3", "Matroska/WebM", VIDEO, ""),
    (lambda h: h[:4] in (b"\0\0\1\xba", b"\0\0\1\xb3"), "MPEG", VIDEO, ""),
    (lambda h: h[:3] == b"ID3" or (len(h) > 1 and h[0] == 0xFF and h[1] & 0xE6 in (0xE2, 0xE4, 0xE6)), "MP3",
     None, _TO_WAV),
    (lambda h: len(h) > 1 and h[0] == 0xFF and h[1] & 0xF6 == 0xF0, "AAC (ADTS)", None, _TO_WAV),
    (lambda h: h[:4] == b"fLaC", "FLAC", None, _TO_WAV),
    (lambda h: h[:4] == b"OggS", "Ogg (Vorbis/Opus)", None, _TO_WAV),
    (lambda h: h[:4] == b"FORM" and h[8:12] in (b"AIFF", b"AIFC"), "AIFF", None, _TO_WAV),
    (lambda h: h[:6] in (b"GIF87a", b"GIF89a"), "GIF", None, _TO_JPEG),
    (lambda h: h[:12] == b"\0\0\0\x0cjP  \r\n\x87\n" or h[:4] == b"\xff\x4f\xff\x51", "JPEG 2000", None, _TO_JPEG),
    (lambda h: h[:4] == b"%PDF", "PDF document", None, ""),
    (lambda h: h[:4] == b"PK\x03\x04", "ZIP archive", None, "unpack it first"),
    (lambda h: h[:2] == b"\x1f\x8b", "gzip archive", None, "unpack it first"),
)


def sniff(path: str | Path) -> FileKind:
    """The kind and format of `path`, images with their size; ProbeError says what is wrong in a user's words."""
    p = Path(path)
    try:
        st = p.stat()
    except FileNotFoundError:
        raise ProbeError("no such file") from None
    except OSError as e:
        raise ProbeError(f"cannot read it ({e.strerror or e})") from None
    if stat.S_ISDIR(st.st_mode):
        raise ProbeError("is a folder with no image, video or WAV file in it")
    if not stat.S_ISREG(st.st_mode):
        raise ProbeError("not a regular file (a FIFO, socket or device); save the input to a file first")
    if st.st_size == 0:
        raise ProbeError("empty file (0 bytes)")
    try:
        with open(p, "rb") as f:
            head = f.read(SNIFF_BYTES)
            for test, fmt, kind, fix in _SIGNATURES:
                if test(head):
                    break
            else:
                raise ProbeError(_unknown(head))
            if kind is None:
                what = "audio" if fix == _TO_WAV else "a file"
                raise ProbeError(f"{fmt} {what}, not something edge-emotion reads"
                                 f"{' (it reads JPEG, PNG, BMP, WebP, TIFF, PNM, videos and WAV)' if not fix else ''}"
                                 f"{'; ' + fix if fix else ''}")
            if kind != IMAGE:
                return FileKind(kind, fmt)
            w, h = _IMAGE_SIZE[fmt](f, st.st_size)
    except PermissionError:
        raise ProbeError("cannot read it (permission denied)") from None
    except OSError as e:
        raise ProbeError(f"cannot read it ({e.strerror or e})") from None
    except _Truncated:
        raise ProbeError(f"truncated {fmt} file (it ends inside its header)") from None
    except (struct.error, IndexError, ValueError) as e:
        if isinstance(e, ProbeError):
            raise
        raise ProbeError(f"damaged {fmt} header ({e})") from None
    if w <= 0 or h <= 0:
        raise ProbeError(f"damaged {fmt} header (declares {w}x{h} pixels)")
    if w * h > MAX_IMAGE_PIXELS:
        raise ProbeError(f"{fmt} image of {w}x{h} pixels ({w * h / 1e6:.0f} MP), more than the "
                         f"{MAX_IMAGE_PIXELS / 1e6:.0f} MP limit (memory); downscale it first")
    return FileKind(IMAGE, fmt, w, h)


def _unknown(head: bytes) -> str:
    if all(32 <= b < 127 or b in (9, 10, 13) for b in head):
        return "a text file, not an image, video or WAV file"
    return "unknown file type (not an image, video or WAV file edge-emotion reads)"


# --- image headers: (file, file size) -> (width, height) -----------------------------------------------------

def _read_at(f: BinaryIO, pos: int, n: int) -> bytes:
    f.seek(pos)
    b = f.read(n)
    if len(b) < n:
        raise _Truncated()
    return b


def _png(f: BinaryIO, size: int) -> tuple[int, int]:
    b = _read_at(f, 8, 16)
    if b[4:8] != b"IHDR":
        raise ProbeError("damaged PNG header (no IHDR chunk first)")
    return struct.unpack(">II", b[8:16])


# JPEG start-of-frame markers (baseline, progressive, lossless, arithmetic); C4, C8 and CC are not frames.
_SOF = {0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF}


def _jpeg(f: BinaryIO, size: int) -> tuple[int, int]:
    pos = 2
    for _ in range(1024):  # segments before the frame header: APPn (EXIF, ICC), DQT, DHT, COM...
        b = _read_at(f, pos, 4)
        if b[0] != 0xFF:
            raise ProbeError("damaged JPEG (no marker where one belongs)")
        marker = b[1]
        if marker == 0xFF:  # fill byte
            pos += 1
            continue
        if marker in _SOF:
            height, width = struct.unpack(">HH", _read_at(f, pos + 5, 4))
            if height == 0:
                raise ProbeError("JPEG whose height comes after the image data (DNL), which is not supported")
            return width, height
        if marker == 0xDA:
            raise ProbeError("damaged JPEG (image data before a frame header)")
        if marker == 0x01 or 0xD0 <= marker <= 0xD8:  # markers without a length
            pos += 2
            continue
        pos += 2 + struct.unpack(">H", b[2:4])[0]
        if pos >= size:
            break
    raise ProbeError("truncated or damaged JPEG (no frame header)")


# A marker in a JPEG's entropy-coded data: 0xFF (and fill bytes) followed by anything but a stuffed 0x00 or a restart.
_JPEG_MARKER = re.compile(rb"\xff+([^\x00\xd0-\xd7\xff])")


def jpeg_complete(path: str | Path) -> bool:
    """Whether a JPEG's image data runs to its end marker (EOI); a file cut short decodes with a grey lower part."""
    data = Path(path).read_bytes()  # its size was checked from the header: at most a few tens of MB
    pos = 2
    while True:
        m = _JPEG_MARKER.match(data, pos)
        if m is None:
            return False  # no marker where one belongs: the file ends (or is damaged) between segments
        marker, pos = m.group(1)[0], m.end()
        if marker == 0xD9:  # EOI
            return True
        if marker == 0x01 or 0xD0 <= marker <= 0xD8:  # markers without a length
            continue
        if pos + 2 > len(data):
            return False
        pos += struct.unpack(">H", data[pos:pos + 2])[0]
        if marker == 0xDA:  # a scan: its data runs to the next marker (EOI, or a progressive JPEG's next table)
            m = _JPEG_MARKER.search(data, pos)
            if m is None:
                return False
            pos = m.start()


def _bmp(f: BinaryIO, size: int) -> tuple[int, int]:
    b = _read_at(f, 14, 12)
    if struct.unpack("<I", b[:4])[0] == 12:  # OS/2 BITMAPCOREHEADER: 16-bit sizes
        return struct.unpack("<HH", b[4:8])
    w, h = struct.unpack("<ii", b[4:12])
    return w, abs(h)  # a negative height means rows stored top-down


def _webp(f: BinaryIO, size: int) -> tuple[int, int]:
    b = _read_at(f, 12, 18)
    chunk = b[:4]
    if chunk == b"VP8 ":
        if b[11:14] != b"\x9d\x01\x2a":
            raise ProbeError("damaged WebP (VP8 start code missing)")
        w, h = struct.unpack("<HH", b[14:18])
        return w & 0x3FFF, h & 0x3FFF
    if chunk == b"VP8L":
        v = struct.unpack("<I", b[9:13])[0]
        return (v & 0x3FFF) + 1, ((v >> 14) & 0x3FFF) + 1
    if chunk == b"VP8X":
        return int.from_bytes(b[12:15], "little") + 1, int.from_bytes(b[15:18], "little") + 1
    raise ProbeError(f"damaged WebP (unknown chunk {chunk!r})")


def _tiff(f: BinaryIO, size: int) -> tuple[int, int]:
    e = "<" if _read_at(f, 0, 2) == b"II" else ">"
    ifd = struct.unpack(e + "I", _read_at(f, 4, 4))[0]
    count = struct.unpack(e + "H", _read_at(f, ifd, 2))[0]
    if count > 4096:
        raise ProbeError(f"damaged TIFF ({count} tags in the first directory)")
    found = {}
    entries = _read_at(f, ifd + 2, 12 * count)
    for i in range(count):
        tag, typ = struct.unpack_from(e + "HH", entries, 12 * i)
        if tag in (256, 257):  # ImageWidth, ImageLength: SHORT (3) or LONG (4)
            found[tag] = struct.unpack_from(e + ("H" if typ == 3 else "I"), entries, 12 * i + 8)[0]
    if len(found) < 2:
        raise ProbeError("damaged TIFF (no image width and length)")
    return found[256], found[257]


def _pnm(f: BinaryIO, size: int) -> tuple[int, int]:
    text = _read_at(f, 0, min(size, 1024))
    text = re.sub(rb"#[^\n]*", b" ", text)  # comments may sit between the numbers
    m = re.match(rb"P[1-6]\s+(\d+)\s+(\d+)", text)
    if not m:
        raise ProbeError("damaged PNM header (no width and height)")
    return int(m.group(1)), int(m.group(2))


_IMAGE_SIZE = {"PNG": _png, "JPEG": _jpeg, "BMP": _bmp, "WebP": _webp, "TIFF": _tiff, "PNM": _pnm}


def check_file(key: str, spec: str) -> tuple[Path | None, list[str]]:
    """(path, []) for an existing readable file or FIFO, else (None, [error])."""
    p = Path(spec).expanduser()
    try:
        mode = p.stat().st_mode
    except FileNotFoundError:
        return None, [f"{key} = {spec!r}: no such file"]
    except OSError as e:
        return None, [f"{key} = {spec!r}: cannot read it ({e.strerror or e})"]
    if stat.S_ISDIR(mode):
        return None, [f"{key} = {spec!r}: is a folder, not a file"]
    try:
        if stat.S_ISREG(mode):
            with open(p, "rb"):
                pass
    except OSError as e:
        return None, [f"{key} = {spec!r}: cannot read it ({e.strerror or e})"]
    return p, []
