"""`edge-emotion infer` in two environments on the same photos and WAVs: same labels, close probabilities.

Used by `make test-py38` (Python 3.8 + tflite-runtime vs the main environment) and `make arm64-check`
(an arm64 Debian root file system under qemu vs this x86 machine):

    python tests/crosscheck.py list                                  # the inputs, one path a line
    python tests/crosscheck.py run --python .venv38/bin/python --out py38.jsonl
    python tests/crosscheck.py compare main.jsonl py38.jsonl --prob-tol 0.02

Results are matched by file name, so the other side may read copies of the inputs from another folder.
"""

from __future__ import annotations

import argparse
import csv
import json
import subprocess
import sys
from pathlib import Path
from typing import Any, Dict, List

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "datasets"
PHOTOS = DATA / "face-photos"
EMODB = DATA / "emodb" / "wav"
# Largest faces of both sides must overlap this much: the same detector on other kernels moves a box by a pixel or two.
MIN_IOU = 0.9


def inputs() -> List[Path]:
    """The first photo of each face-photos label and the first Emo-DB utterance of each emotion letter."""
    photos: Dict[str, Path] = {}
    with open(PHOTOS / "labels.csv", newline="") as f:
        for row in sorted(csv.DictReader(f), key=lambda r: r["image"]):
            photos.setdefault(row["emotion"], PHOTOS / "images" / row["image"])
    wavs: Dict[str, Path] = {}
    for p in sorted(EMODB.glob("*.wav")):
        wavs.setdefault(p.stem[5], p)  # SSTTTEV: E is the emotion letter
    return [photos[k] for k in sorted(photos)] + [wavs[k] for k in sorted(wavs)]


def run(python: str, out: Path, files: List[Path]) -> None:
    """`python -m edge.cli infer FILES` -> out (JSON lines)."""
    p = subprocess.run([python, "-m", "edge.cli", "infer", *map(str, files)], cwd=ROOT, capture_output=True, text=True)
    if p.returncode != 0:
        sys.exit(f"crosscheck: {python} infer exited {p.returncode}: {p.stderr.strip().splitlines()[-1:]}")
    out.write_text(p.stdout)


def load(path: Path) -> Dict[str, Dict[str, Any]]:
    rows = [json.loads(ln) for ln in path.read_text().splitlines() if ln.startswith("{")]
    return {Path(r["input"]).name: r for r in rows}


def _iou(a: List[float], b: List[float]) -> float:
    ax, ay, aw, ah = a
    bx, by, bw, bh = b
    iw = max(0.0, min(ax + aw, bx + bw) - max(ax, bx))
    ih = max(0.0, min(ay + ah, by + bh) - max(ay, by))
    inter = iw * ih
    return inter / (aw * ah + bw * bh - inter) if inter else 0.0


def _part(r: Dict[str, Any]) -> Dict[str, Any] | None:
    """What one input's result is about: its largest face, or for a WAV its voice result."""
    if r.get("faces"):
        return r["faces"][0]
    return r.get("audio")


def compare(ref: Dict[str, Dict[str, Any]], other: Dict[str, Dict[str, Any]], prob_tol: float) -> tuple:
    """(problems, largest probability difference, inputs compared)."""
    problems, worst = [], 0.0
    for name in sorted(ref):
        if name not in other:
            problems.append(f"{name}: no result on the other side")
            continue
        a, b = _part(ref[name]), _part(other[name])
        if a is None or b is None:
            if (a is None) != (b is None):
                problems.append(f"{name}: a result on one side only ({a is not None}, {b is not None})")
            continue
        if a["emotion"] != b["emotion"]:
            problems.append(f"{name}: {a['emotion']} here, {b['emotion']} there")
        if "box" in a and _iou(a["box"], b["box"]) < MIN_IOU:
            problems.append(f"{name}: face boxes {a['box']} and {b['box']} overlap less than {MIN_IOU}")
        diff = max(abs(a["probs"][k] - b["probs"].get(k, 0.0)) for k in a["probs"])
        worst = max(worst, diff)
        if diff > prob_tol:
            problems.append(f"{name}: probabilities differ by {diff:.4f} (> {prob_tol})")
    return problems, worst, len(ref)


def main(argv: List[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="crosscheck", description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    sub.add_parser("list", help="print the inputs")
    r = sub.add_parser("run", help="infer on the inputs with one interpreter")
    r.add_argument("--python", default=sys.executable)
    r.add_argument("--out", type=Path, required=True)
    c = sub.add_parser("compare", help="labels equal, probabilities within --prob-tol")
    c.add_argument("reference", type=Path)
    c.add_argument("other", type=Path)
    c.add_argument("--prob-tol", type=float, required=True)
    args = ap.parse_args(argv)
    if args.cmd == "list":
        print("\n".join(map(str, inputs())))
    elif args.cmd == "run":
        run(args.python, args.out, inputs())
    else:
        problems, worst, n = compare(load(args.reference), load(args.other), args.prob_tol)
        for p in problems:
            print(f"crosscheck: {p}")
        verdict = "FAILED" if problems else "ok"
        print(f"crosscheck {args.other.name} vs {args.reference.name}: {n} inputs, {len(problems)} problems, "
              f"largest probability difference {worst:.4f} (tolerance {args.prob_tol}): {verdict}")
        return 1 if problems else 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
