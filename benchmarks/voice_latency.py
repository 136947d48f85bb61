"""Voice features + int8 inference for one second of speech, on one core: the issue-3 budget is 5 ms.

Usage: python benchmarks/voice_latency.py [--model edge/models/voice_int8.tflite] [--seconds 10]
Writes benchmarks/reports/voice_latency.{json,md}.
"""

from __future__ import annotations

import os

# One core, one thread everywhere, before numpy loads its BLAS.
for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[var] = "1"

import argparse  # noqa: E402
import json  # noqa: E402
import sys  # noqa: E402
from pathlib import Path  # noqa: E402

import time  # noqa: E402

import numpy as np  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from edge.audio.resample import resample  # noqa: E402
from edge.audio.voice import VoiceClassifier  # noqa: E402
from edge.audio.wav import read_wav, to_mono  # noqa: E402
from edge.bench.stats import summarize, timed  # noqa: E402
from edge.bench.system import isa_line, system_info  # noqa: E402
from edge.paths import MODELS_DIR  # noqa: E402

SPEECH = ROOT.parent / "shared" / "datasets" / "emodb" / "wav" / "03a01Wa.wav"


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", type=Path, default=MODELS_DIR / "voice_int8.tflite")
    p.add_argument("--seconds", type=float, default=10.0, help="timed duration of each case")
    p.add_argument("--core", type=int, default=0, help="CPU core to pin to")
    p.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "reports" / "voice_latency")
    args = p.parse_args()
    os.sched_setaffinity(0, {args.core})
    clf = VoiceClassifier(args.model, threads=1, adapt=False)
    x22, rate = read_wav(SPEECH)
    x22 = to_mono(x22)[int(0.5 * rate):int(1.5 * rate)]  # one second of the utterance's speech
    x16 = resample(x22, rate, clf.sample_rate)
    feats = clf.window_features(x16)
    cases = {
        "features (1 s at 16 kHz)": lambda: clf.window_features(x16),
        "inference (int8, 1 window)": lambda: clf.predict_features(feats),
        "classify 1 s at 16 kHz (gate + features + inference)": lambda: clf.classify(x16, clf.sample_rate),
        "classify 1 s at 22.05 kHz (+ resampling)": lambda: clf.classify(x22, rate),
    }
    rows = []
    load = os.getloadavg()[0]
    for name, fn in cases.items():
        s = summarize(timed(fn, args.seconds))
        cpu = summarize(timed(fn, args.seconds, clock=time.thread_time))
        rows.append({"case": name, **s, "cpu_p50_ms": cpu["p50_ms"], "cpu_p99_ms": cpu["p99_ms"]})
        print(f"{name}: p50 {s['p50_ms']:.3f} ms, p90 {s['p90_ms']:.3f} ms, p99 {s['p99_ms']:.3f} ms (n={s['n']}); "
              f"thread CPU p50 {cpu['p50_ms']:.3f} ms")
    report = {"command": "python benchmarks/voice_latency.py " + " ".join(sys.argv[1:]), "model": str(args.model),
              "core": args.core, "threads": 1, "budget_ms": 5.0, "rows": rows, "loadavg_1min": load,
              "system": system_info()}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.with_suffix(".json").write_text(json.dumps(report, indent=2) + "\n")
    lines = [f"# Voice latency: features + int8 inference for 1 s of speech", "",
             f"Command: `{report['command']}` (pinned to core {args.core}, 1 thread; budget 5 ms)", "",
             isa_line(report["system"]), "",
             f"1-minute load average at the start: {load:.2f} on {os.cpu_count()} cores. Wall-clock percentiles "
             "include time the thread waited for a core; thread CPU time (measured in a second pass) does not.", "",
             "| case | p50 ms | p90 ms | p99 ms | n | thread CPU p50 ms | thread CPU p99 ms |",
             "| --- | --- | --- | --- | --- | --- | --- |"]
    lines += [f"| {r['case']} | {r['p50_ms']:.3f} | {r['p90_ms']:.3f} | {r['p99_ms']:.3f} | {r['n']} | "
              f"{r['cpu_p50_ms']:.3f} | {r['cpu_p99_ms']:.3f} |" for r in rows]
    sysd = report["system"]
    lines += ["", f"System: {json.dumps({k: sysd[k] for k in list(sysd)[:8]})}"]
    args.out.with_suffix(".md").write_text("\n".join(lines) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
