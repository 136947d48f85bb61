"""Voice features + int8 inference per second of speech, on one core: issue 25's budget is 15 ms (issue 3's was 5).

Usage: python benchmarks/voice_latency.py [--model edge/models/voice_int8.tflite] [--seconds 10] [--speech-s 1]
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
from edge.classify.voice import VoiceClassifier  # noqa: E402
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
    p.add_argument("--speech-s", type=float, default=1.0, help="seconds of speech per case (the utterance repeated); "
                   "the table gives ms per case and per second of speech")
    p.add_argument("--budget-ms", type=float, default=15.0, help="budget per second of speech (issue 25: 15 ms)")
    p.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "reports" / "voice_latency")
    args = p.parse_args()
    os.sched_setaffinity(0, {args.core})
    clf = VoiceClassifier(args.model, threads=1, adapt=False)
    x22, rate = read_wav(SPEECH)
    x22 = to_mono(x22)
    if args.speech_s <= 1.0:
        x22 = x22[int(0.5 * rate):int((0.5 + args.speech_s) * rate)]  # the utterance's speech
    else:  # longer speech: the utterance again and again (the embedding runs every 320 ms over all of it)
        x22 = np.tile(x22, int(np.ceil(args.speech_s * rate / len(x22))))[:int(args.speech_s * rate)]
    x16 = resample(x22, rate, clf.sample_rate)
    feats = clf.window_features(x16)
    sec = f"{args.speech_s:g} s"
    cases = {
        f"features ({sec} at 16 kHz)": lambda: clf.window_features(x16),
        f"inference (int8, {len(feats)} window(s))": lambda: clf.predict_features(feats),
        f"classify {sec} at 16 kHz (gate + features + inference)": lambda: clf.classify(x16, clf.sample_rate),
        f"classify {sec} at 22.05 kHz (+ resampling)": lambda: clf.classify(x22, rate),
    }
    if clf.embedding is not None:  # the speech embedding alone (mel + backbone), inside "features"
        cases[f"speech embedding alone ({sec} at 16 kHz)"] = lambda: clf.embedding.windows(
            x16, clf.window_s, clf.hop_s, clf.trim_db, clf.spec, clf.level_db)
    rows = []
    load = os.getloadavg()[0]
    for name, fn in cases.items():
        s = summarize(timed(fn, args.seconds))
        cpu = summarize(timed(fn, args.seconds, clock=time.thread_time))
        rows.append({"case": name, **s, "cpu_p50_ms": cpu["p50_ms"], "cpu_p99_ms": cpu["p99_ms"],
                     "cpu_p50_ms_per_s": cpu["p50_ms"] / args.speech_s})
        print(f"{name}: p50 {s['p50_ms']:.3f} ms, p90 {s['p90_ms']:.3f} ms, p99 {s['p99_ms']:.3f} ms (n={s['n']}); "
              f"thread CPU p50 {cpu['p50_ms']:.3f} ms")
    report = {"command": "python benchmarks/voice_latency.py " + " ".join(sys.argv[1:]), "model": str(args.model),
              "core": args.core, "threads": 1, "budget_ms_per_s": args.budget_ms, "speech_s": args.speech_s,
              "rows": rows, "loadavg_1min": load,
              "system": system_info()}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.with_suffix(".json").write_text(json.dumps(report, indent=2) + "\n")
    lines = [f"# Voice latency: features + int8 inference for {sec} of speech", "",
             f"Command: `{report['command']}` (pinned to core {args.core}, 1 thread; budget {args.budget_ms:g} ms per "
             "second of speech)", "",
             isa_line(report["system"]), "",
             f"1-minute load average at the start: {load:.2f} on {os.cpu_count()} cores. Wall-clock percentiles "
             "include time the thread waited for a core; thread CPU time (measured in a second pass) does not.", "",
             "| case | p50 ms | p90 ms | p99 ms | n | thread CPU p50 ms | thread CPU p99 ms "
             "| thread CPU p50 ms per s |",
             "| --- | --- | --- | --- | --- | --- | --- | --- |"]
    lines += [f"| {r['case']} | {r['p50_ms']:.3f} | {r['p90_ms']:.3f} | {r['p99_ms']:.3f} | {r['n']} | "
              f"{r['cpu_p50_ms']:.3f} | {r['cpu_p99_ms']:.3f} | {r['cpu_p50_ms_per_s']:.3f} |" for r in rows]
    sysd = report["system"]
    lines += ["", f"System: {json.dumps({k: sysd[k] for k in list(sysd)[:8]})}"]
    args.out.with_suffix(".md").write_text("\n".join(lines) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
