"""Face detection coverage and latency on the 310 face photos: in how many is at least one face found, how fast.

    python benchmarks/detect_coverage.py                          # the default detector, as shipped
    python benchmarks/detect_coverage.py --detectors blazeface,blazeface-full,haar,mediapipe
    python benchmarks/detect_coverage.py --retry-margins 0,0.1,0.25,0.5   # why BlazeFace looks twice

Coverage counts photos with a detection of score >= --min-score, and separately those that also
pass the config's default `detect.min_face_px` (24); `faces` is the total number of detections and
`2+` the photos with more than one (most photos hold one face, so extra detections hint at false ones). Latency: each photo is detected once to
warm up, then the whole set is timed, repeated until --min-seconds have passed; per-call
percentiles at 1 thread (one core busy). Every photo holds at least one face (datasets README).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import cv2

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from edge.bench.stats import summarize  # noqa: E402
from edge.bench.system import system_info  # noqa: E402
from edge.config import DetectConfig  # noqa: E402
from edge.detect import DetectorUnavailable, make_detector  # noqa: E402

PHOTOS = ROOT.parent / "shared" / "datasets" / "face-photos" / "images"


def load_photos(folder: Path) -> dict[str, "cv2.Mat"]:
    photos = {p.name: cv2.imread(str(p), cv2.IMREAD_COLOR) for p in sorted(folder.iterdir())
              if p.suffix.lower() in (".jpg", ".jpeg", ".png")}
    bad = [n for n, im in photos.items() if im is None]
    if bad:
        raise SystemExit(f"unreadable photos: {', '.join(bad)}")
    return photos


def run_case(name: str, detector, photos: dict, min_face_px: int, min_seconds: float) -> dict:
    found = {n: detector.detect(im) for n, im in photos.items()}  # also the warm-up pass
    hit = [n for n, d in found.items() if d]
    hit_px = [n for n, d in found.items() if any(min(x.box.w, x.box.h) >= min_face_px for x in d)]
    samples, t_end = [], time.perf_counter() + min_seconds
    while time.perf_counter() < t_end:
        for im in photos.values():
            t = time.perf_counter()
            detector.detect(im)
            samples.append((time.perf_counter() - t) * 1e3)
    lat = summarize(samples)
    return {"case": name, "photos": len(photos), "found": len(hit), "found_pct": 100.0 * len(hit) / len(photos),
            "faces": sum(len(d) for d in found.values()), "photos_with_2plus": sum(len(d) > 1 for d in found.values()),
            f"found_min{min_face_px}px": len(hit_px), "missed": sorted(set(photos) - set(hit)),
            "p50_ms": lat["p50_ms"], "p90_ms": lat["p90_ms"], "p99_ms": lat["p99_ms"], "timed_calls": lat["n"]}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--photos", type=Path, default=PHOTOS)
    ap.add_argument("--detectors", default="blazeface", help="comma-separated registry names")
    ap.add_argument("--min-score", type=float, default=DetectConfig.min_score)
    ap.add_argument("--retry-margins", default="", help="BlazeFace only: comma-separated margins to compare "
                                                        "(0 = one look); empty: the description's own")
    ap.add_argument("--min-seconds", type=float, default=3.0, help="timed duration per case")
    ap.add_argument("--out", type=Path, help="write the report as JSON here")
    args = ap.parse_args()
    photos = load_photos(args.photos)
    min_face_px = DetectConfig.min_face_px
    rows = []
    for name in args.detectors.split(","):
        try:
            det = make_detector(name, min_score=args.min_score, threads=1)
        except DetectorUnavailable as e:
            rows.append({"case": name, "error": str(e)})
            continue
        margins = [float(m) for m in args.retry_margins.split(",")] if args.retry_margins and \
            hasattr(det, "retry_margin") else [None]
        for m in margins:
            if m is not None:
                det.retry_margin = m
            label = name if m is None else f"{name} retry_margin={m:g}"
            rows.append(run_case(label, det, photos, min_face_px, args.min_seconds))
        if hasattr(det, "close"):
            det.close()  # the mediapipe detector: its own __del__ fails at interpreter exit
    print(f"{len(photos)} photos from {args.photos}, min_score {args.min_score}, 1 thread")
    print(f"{'case':34} {'found':>6} {'%':>6} {f'>={min_face_px}px':>7} {'faces':>6} {'2+':>4} {'p50 ms':>7} "
          f"{'p90 ms':>7}  missed")
    for r in rows:
        if "error" in r:
            print(f"{r['case']:34} not run: {r['error']}")
            continue
        print(f"{r['case']:34} {r['found']:6d} {r['found_pct']:6.1f} {r[f'found_min{min_face_px}px']:7d} "
              f"{r['faces']:6d} {r['photos_with_2plus']:4d} {r['p50_ms']:7.2f} {r['p90_ms']:7.2f}  {' '.join(r['missed'][:8])}{' ...' if len(r['missed']) > 8 else ''}")
    if args.out:
        report = {"command": " ".join(sys.argv), "min_score": args.min_score, "system": system_info(), "rows": rows}
        args.out.write_text(json.dumps(report, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
