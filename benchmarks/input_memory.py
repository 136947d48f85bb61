"""Peak memory of `edge-emotion infer` per input, each in a fresh process: what the input limits are built on.

The largest images and WAV files `infer` accepts (24 MP, 30 s) and the hostile ones it refuses from their
header, each through the real command; the peak resident memory of that process (ru_maxrss) is reported,
and the memory one second of audio costs (from the 10 s and 30 s WAV files).

    nice -n 10 python benchmarks/input_memory.py --out benchmarks/reports
"""

from __future__ import annotations

import argparse
import json
import struct
import subprocess
import sys
import tempfile
import zlib
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from edge import paths  # noqa: E402
from edge.audio.resample import resample  # noqa: E402
from edge.audio.wav import read_wav, to_mono, write_wav  # noqa: E402
from edge.bench.system import isa_features, isa_line  # noqa: E402

SPEECH = ROOT.parent / "shared" / "datasets" / "emodb" / "wav" / "03a01Wa.wav"
PHOTOS = ROOT.parent / "shared" / "datasets" / "face-photos" / "images"
BUDGET_MB = 400


def peak_mb(path: Path) -> tuple[float, str]:
    """Peak RSS of one `edge-emotion infer PATH` process, and its line's error (or '')."""
    code = ("import resource, subprocess, sys\n"
            "p = subprocess.run([sys.executable, '-m', 'edge.cli', 'infer', sys.argv[1]], capture_output=True, "
            "text=True)\n"
            "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)\n"
            "print(p.stdout.strip())\n")
    out = subprocess.run([sys.executable, "-c", code, str(path)], capture_output=True, text=True, cwd=ROOT,
                         timeout=600).stdout.splitlines()
    line = json.loads(out[1]) if len(out) > 1 and out[1] else {}
    return int(out[0]) / 1024, line.get("error", "")


def speech(rate: int, seconds: float) -> np.ndarray:
    x, r = read_wav(SPEECH)
    y = resample(to_mono(x), r, rate)
    n = int(seconds * rate)
    return np.tile(y, n // len(y) + 1)[:n]


def big_image(w: int, h: int) -> np.ndarray:
    img = np.empty((h, w, 3), np.uint8)
    img[:] = np.linspace(40, 200, w, dtype=np.uint8)[None, :, None]
    face = cv2.resize(cv2.imread(str(sorted(PHOTOS.glob("*"))[0])), (h // 3, h // 3))
    img[h // 3:h // 3 + face.shape[0], w // 3:w // 3 + face.shape[1]] = face
    return img


def png_bomb(w: int, h: int) -> bytes:
    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)
    ihdr = chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0))
    return b"\x89PNG\r\n\x1a\n" + ihdr + chunk(b"IDAT", zlib.compress(b"\0" * 1_000_000, 9)) + chunk(b"IEND", b"")


def inputs(d: Path) -> list[tuple[str, Path]]:
    out = []
    dot = d / "dot.png"
    cv2.imwrite(str(dot), np.zeros((1, 1, 3), np.uint8))
    out.append(("1x1 PNG (the models loaded, nothing else)", dot))
    photo = sorted(PHOTOS.glob("*"))[0]
    out.append((f"a face photo ({photo.name})", photo))
    for w, h in ((4000, 3000), (6000, 4000)):
        p = d / f"prog_{w}x{h}.jpg"
        cv2.imwrite(str(p), big_image(w, h), [cv2.IMWRITE_JPEG_PROGRESSIVE, 1, cv2.IMWRITE_JPEG_QUALITY, 90])
        out.append((f"{w}x{h} progressive JPEG ({w * h / 1e6:.0f} MP)", p))
    p16 = d / "big16.png"
    cv2.imwrite(str(p16), big_image(6000, 4000).astype(np.uint16) * 257)
    out.append(("6000x4000 16-bit PNG (24 MP, the limit)", p16))
    bomb = d / "bomb.png"
    bomb.write_bytes(png_bomb(32000, 32000))
    out.append(("PNG declaring 32000x32000 (refused from its header)", bomb))
    for s in (10, 30):
        w = d / f"speech_{s}s.wav"
        write_wav(w, speech(22050, s), 22050)
        out.append((f"{s} s of speech, 22.05 kHz WAV", w))
    long = d / "speech_600s.wav"
    write_wav(long, np.zeros(16000 * 600, np.float32), 16000)
    out.append(("600 s WAV (refused from its header)", long))
    out.append(("the demo clip, 24 s of 640x480 video + its WAV", paths.SAMPLE_VIDEO))
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, help="folder for input_memory.json and input_memory.md")
    args = ap.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for name, path in inputs(Path(tmp)):
            mb, error = peak_mb(path)
            rows.append({"input": name, "bytes": path.stat().st_size, "peak_rss_mb": round(mb, 1), "error": error})
            print(f"{mb:7.1f} MB  {name}{'  -> ' + error if error else ''}", flush=True)
    by = {r["input"]: r["peak_rss_mb"] for r in rows}
    per_s = (by["30 s of speech, 22.05 kHz WAV"] - by["10 s of speech, 22.05 kHz WAV"]) / 20.0
    worst = max(r["peak_rss_mb"] for r in rows)
    command = "python benchmarks/input_memory.py " + " ".join(sys.argv[1:])
    report = {"command": command, "machine": isa_line(), "isa": isa_features(), "rows": rows,
              "audio_mb_per_s": round(per_s, 2), "worst_mb": worst, "budget_mb": BUDGET_MB}
    if args.out:
        args.out.mkdir(parents=True, exist_ok=True)
        (args.out / "input_memory.json").write_text(json.dumps(report, indent=2) + "\n")
        table = "\n".join(f"| {r['input']} | {r['bytes']:,} | {r['peak_rss_mb']} | {r['error'] or 'processed'} |"
                          for r in rows)
        (args.out / "input_memory.md").write_text(
            "# Peak memory of `edge-emotion infer` per input\n\n"
            f"Command: `{command}`\n\nMachine: {isa_line()}; Python {sys.version.split()[0]}. Each input is one fresh "
            "`edge-emotion infer FILE` process; the figure is its peak resident memory (ru_maxrss).\n\n"
            "| input | file bytes | peak RSS (MB) | outcome |\n| --- | --- | --- | --- |\n"
            f"{table}\n\nWorst: **{worst} MB** (budget {BUDGET_MB} MB). One second of audio costs **{per_s:.2f} MB** "
            "at its peak (30 s minus 10 s WAV, over 20 s): the voice features of a whole file are computed at once, "
            "hence infer's 30 s limit per WAV (`edge-emotion run` streams files of any length).\n")
    return 0 if worst <= BUDGET_MB else 1


if __name__ == "__main__":
    sys.exit(main())
