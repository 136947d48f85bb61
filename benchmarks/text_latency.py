"""Text emotion for one sentence of 64 tokens (the most the model reads), on one core, one thread: the budget is 2 ms.

Usage: python benchmarks/text_latency.py [--seconds 5] [--callgrind]   writes benchmarks/reports/text_latency.{json,md}

--callgrind also counts instructions per sentence under `valgrind --tool=callgrind` (valgrind hides AVX-512, so
the int8 kernels are the AVX2 ones an AVX2-only CPU runs): the count of a run classifying the sentence 200 times
minus that of a run classifying it 0 times, over 200 (`--count N --model M` is that child run).
"""

from __future__ import annotations

import os

# One core, one thread everywhere, before numpy loads its BLAS.
for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[var] = "1"

import argparse  # noqa: E402
import json  # noqa: E402
import re  # noqa: E402
import subprocess  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
import sys  # noqa: E402
from pathlib import Path  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from edge.bench.stats import summarize, timed  # noqa: E402
from edge.bench.system import isa_line, system_info  # noqa: E402
from edge.paths import MODELS_DIR  # noqa: E402
from edge.classify.text import TextClassifier  # noqa: E402
from edge.text.features import tokens  # noqa: E402

# 64 tokens exactly as written (words and punctuation), plain English; v2's tokeniser reads the same 64 ("nobody told us
# why" -> nobody, not~told, not~us, not~why).
SENTENCE = ("I waited at the station for almost two hours because the train was late again, and when it finally "
            "came nobody told us why, so I missed the meeting, lost the client and now my boss is furious with me "
            "and honestly I am tired of all this. It is the third time this month, and nobody cares.")


CLASSIFY = "classify (checks + language + tokens + vector + model)"


def instructions_per_sentence(model: Path, n: int = 200) -> int:
    """Callgrind's instruction count of classifying the sentence n times, minus that of 0 times, over n."""
    counts = []
    for count in (0, n):
        with tempfile.TemporaryDirectory() as tmp:
            p = subprocess.run(["valgrind", "--tool=callgrind", f"--callgrind-out-file={tmp}/cg.out", sys.executable,
                                __file__, "--count", str(count), "--model", str(model)],
                               capture_output=True, text=True, check=True)
        counts.append(int(re.search(r"Collected : (\d+)", p.stderr).group(1)))
    return (counts[1] - counts[0]) // n


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--models", nargs="+", type=Path,
                   default=[MODELS_DIR / "text_int8.tflite", MODELS_DIR / "text_int8.onnx"])
    p.add_argument("--model", type=Path, help="with --count: the one model to run")
    p.add_argument("--count", type=int, default=None, help="only classify the sentence this many times (callgrind)")
    p.add_argument("--seconds", type=float, default=5.0, help="timed duration of each case")
    p.add_argument("--core", type=int, default=0, help="CPU core to pin to")
    p.add_argument("--callgrind", action="store_true", help="also count instructions per sentence (AVX2 kernels)")
    p.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "reports" / "text_latency")
    args = p.parse_args()
    n_tokens = len(tokens(SENTENCE))
    if args.count is not None:
        clf = TextClassifier(args.model or args.models[0], threads=1)
        for _ in range(args.count):
            clf.classify(SENTENCE)
        return 0
    os.sched_setaffinity(0, {args.core})
    rows = []
    for path in args.models:
        clf = TextClassifier(path, threads=1, backend="onnxruntime" if path.suffix == ".onnx" else None)
        toks = clf.vectoriser.tokens(SENTENCE)[:clf.spec.max_tokens]  # as this model reads them (its tokeniser)
        x = clf.vectoriser.vector(toks)[None, :]
        cases = {
            "tokens + vector (Python, numpy)":
                lambda: clf.vectoriser.vector(clf.vectoriser.tokens(SENTENCE)[:clf.spec.max_tokens]),
            "model (int8)": lambda: clf.model.predict(x),
            CLASSIFY: lambda: clf.classify(SENTENCE),
        }
        for name, fn in cases.items():
            s = summarize(timed(fn, args.seconds, warmup=50, min_runs=100))
            rows.append({"model": path.name, "backend": clf.model.backend.name, "case": name, **s})
            print(f"{path.name} {name}: p50 {s['p50_ms']:.4f} ms, p90 {s['p90_ms']:.4f} ms (n={s['n']})")
        # The same calls in this thread's CPU time: on a shared machine the wall-clock tail is mostly other jobs
        # taking the core in the middle of a call, which CPU time does not count.
        s = summarize(timed(cases[CLASSIFY], args.seconds, warmup=50, min_runs=100, clock=time.thread_time))
        rows.append({"model": path.name, "backend": clf.model.backend.name, "case": CLASSIFY + ", thread CPU time", **s})
        print(f"{path.name} {CLASSIFY}, CPU time: p50 {s['p50_ms']:.4f} ms, p90 {s['p90_ms']:.4f} ms (n={s['n']})")
    load = os.getloadavg()[0]
    instructions = {}
    if args.callgrind:
        for path in args.models:
            instructions[path.name] = instructions_per_sentence(path)
            print(f"{path.name}: {instructions[path.name]:,} instructions per sentence (callgrind, AVX2 kernels)")
    report = {"command": "python benchmarks/text_latency.py " + " ".join(sys.argv[1:]), "sentence": SENTENCE,
              "tokens": n_tokens, "core": args.core, "threads": 1, "budget_ms": 2.0, "rows": rows,
              "instructions_per_sentence": instructions, "load_average_1min": round(load, 2),
              "system": system_info()}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.with_suffix(".json").write_text(json.dumps(report, indent=2) + "\n")
    sysd = report["system"]
    lines = ["# Text latency: one sentence of 64 tokens", "",
             f"Command: `{report['command']}` (pinned to core {args.core}, 1 thread; budget 2 ms)", "",
             isa_line(sysd), "",
             f"Load average {report['load_average_1min']} over 1 min when the timing ended (a shared machine: p90 "
             "carries the other jobs' noise).", "",
             f"Sentence ({n_tokens} tokens): \"{SENTENCE}\"", "",
             "| model | backend | case | p50 ms | p90 ms | p99 ms | n |", "| --- | --- | --- | --- | --- | --- | --- |"]
    lines += [f"| {r['model']} | {r['backend']} | {r['case']} | {r['p50_ms']:.4f} | {r['p90_ms']:.4f} | "
              f"{r['p99_ms']:.4f} | {r['n']} |" for r in rows]
    if instructions:
        lines += ["", "Instructions per sentence under `valgrind --tool=callgrind` (AVX2 kernels, as on an AVX2-only CPU; "
                      "the whole `classify`, Python included): " +
                  "; ".join(f"{k} {v:,}" for k, v in instructions.items()) + "."]
    args.out.with_suffix(".md").write_text("\n".join(lines) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
