"""Tracking on the two-face clip (convert/clips/tracking.py): id switches per scene, and the tracker's cost.

The real detectors on the clip's frames, then `edge.fuse.track.Tracker` with the `[track]` defaults. Writes
tracking.json and tracking.md to --out.

    python benchmarks/tracking.py --out benchmarks/reports
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from convert.clips.tracking import SCENES, evaluate, frames  # noqa: E402
from edge.bench.system import system_info  # noqa: E402
from edge.config import TrackConfig  # noqa: E402
from edge.detect import make_detector  # noqa: E402
from edge.fuse.track import Observation, Tracker  # noqa: E402


def isa() -> str:
    """The x86 SIMD features that decide which int8 kernels run (README: speed figures say which)."""
    flags = set(Path("/proc/cpuinfo").read_text().split()) if Path("/proc/cpuinfo").exists() else set()
    return " ".join(f for f in ("avx2", "avx512f", "avx512_vnni", "avx_vnni", "amx_int8", "asimd", "asimddp")
                    if f in flags) or "unknown"


def tracker_cost_us(clip, detector, repeats: int = 20) -> float:
    """Median microseconds of one Tracker.update over the clip's detections (detection excluded)."""
    dets = [[Observation(d.box, d.keypoints) for d in detector.detect(f.image)] for f in clip]
    runs = []
    for _ in range(repeats):
        tracker = Tracker.from_config(TrackConfig())
        t = time.perf_counter()
        for f, obs in zip(clip, dets):
            tracker.update(f.t, obs, (640, 480))
        runs.append((time.perf_counter() - t) / len(clip) * 1e6)
    return sorted(runs)[len(runs) // 2]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--datasets", type=Path, default=ROOT.parent / "shared" / "datasets")
    ap.add_argument("--detector", action="append", help="detectors to run (default: blazeface and haar)")
    ap.add_argument("--track", action="append", default=[], metavar="KEY=VALUE",
                    help="override a [track] key, e.g. --track max_missed_s=1.0")
    ap.add_argument("--out", type=Path, required=True)
    args = ap.parse_args()
    clip = list(frames(args.datasets))
    cfg = TrackConfig()
    for item in args.track:
        key, _, value = item.partition("=")
        setattr(cfg, key, type(getattr(cfg, key))(value))
    rows = {}
    for name in args.detector or ["blazeface", "haar"]:
        det = make_detector(name, min_score=0.5)
        r = evaluate(clip, det, Tracker.from_config(cfg))
        r["tracker_us_per_frame"] = round(tracker_cost_us(clip, det), 1)
        rows[name] = r
    report = {"command": "python benchmarks/tracking.py " + " ".join(sys.argv[1:]), "track_config": vars(cfg),
              "frames": len(clip), "results": rows, "system": system_info()}
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "tracking.json").write_text(json.dumps(report, indent=1) + "\n")
    lines = [f"# Tracking on the two-face clip\n", f"Command: `{report['command']}`  ",
             f"Machine: {report['system']['cpu']} ({report['system']['cores_logical']} logical cores, ISA: {isa()}), "
             f"Python {platform.python_version()}\n",
             f"Clip: `edge-convert tracking-clip` ({len(clip)} frames, 10 fps, 640x480, two face-photos); "
             f"tracker: `[track]` defaults {vars(cfg)}.\n",
             "| detector | scene | id switches | re-entries, new id | re-entries, same id | person detected | "
             "person missed |", "|---|---|---|---|---|---|---|"]
    for name, r in rows.items():
        for scene, _, _ in SCENES:
            s = r["scenes"][scene]
            lines.append(f"| {name} | {scene} | {s['switches']} | {s['reentries_new_id']} | {s['reentries_same_id']} "
                         f"| {s['matched']} | {s['missed']} |")
        t = r["total"]
        lines.append(f"| {name} | **all** | **{t['switches']}** | {t['reentries_new_id']} | {t['reentries_same_id']} "
                     f"| {t['matched']} | {t['missed']} |")
    lines.append("\nIds each person got (in order): " + "; ".join(f"{n}: {r['ids']}" for n, r in rows.items()))
    lines.append("\nTracker cost per frame (detection excluded, median of 20 passes): "
                 + ", ".join(f"{n} {r['tracker_us_per_frame']} us" for n, r in rows.items()))
    lines.append("\nEvery id change and every re-entry (a person found again after more than 0.5 s unseen; gap_s is how "
                 "long they were unseen): " + json.dumps({n: r["changes"] for n, r in rows.items()}))
    (args.out / "tracking.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
