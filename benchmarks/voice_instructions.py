"""Instructions per second of audio for the voice path, counted by callgrind: features vs int8 inference.

Wall-clock time on a shared machine is noisy; instruction counts are not, and valgrind hides AVX-512
(it runs the AVX2 kernels), so the count also speaks for AVX2-only CPUs. Each case runs once with
no repetitions and once with --n repetitions under callgrind; the difference divided by n is the
cost of one repetition, without interpreter start-up and model loading.

Usage: python benchmarks/voice_instructions.py [--n 20] [--model edge/models/voice_int8.tflite]
Writes benchmarks/reports/voice_instructions.{json,md}.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CASES = ("features", "inference", "gate", "classify")
SPEECH = ROOT.parent / "shared" / "datasets" / "emodb" / "wav" / "03a01Wa.wav"


def child(case: str, n: int, model: str) -> None:
    """The measured process: load everything, then run `case` n times on 1 s of 16 kHz speech."""
    sys.path.insert(0, str(ROOT))
    import numpy as np

    from edge.audio.gate import block_levels
    from edge.audio.resample import resample
    from edge.classify.voice import VoiceClassifier
    from edge.audio.wav import read_wav, to_mono

    clf = VoiceClassifier(model, threads=1)
    x, rate = read_wav(SPEECH)
    x16 = resample(to_mono(x)[int(0.5 * rate):int(1.5 * rate)], rate, 16000)  # one second of speech
    feats = clf.window_features(x16)
    z = clf.norm.apply(feats)
    run = {"features": lambda: clf.window_features(x16), "inference": lambda: clf.model.predict(z),
           "gate": lambda: block_levels(x16, 16000), "classify": lambda: clf.classify(x16, 16000)}[case]
    run()  # first call outside the count difference: caches, lazy initialisation
    for _ in range(n):
        run()
    np.asarray(0)


def count(case: str, n: int, model: str) -> int:
    """Total instructions (Ir) of one child process under callgrind."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "cg.out"
        env = {**os.environ, "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"}
        subprocess.run(["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}", sys.executable, __file__,
                        "--child", case, "--n", str(n), "--model", model], check=True, env=env,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        m = re.search(r"^summary:\s+(\d+)", out.read_text(), re.M)
        return int(m.group(1))


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--n", type=int, default=20, help="repetitions in the measured run")
    p.add_argument("--model", default=str(ROOT / "edge" / "models" / "voice_int8.tflite"))
    p.add_argument("--child", choices=CASES, help=argparse.SUPPRESS)
    p.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "reports" / "voice_instructions")
    args = p.parse_args()
    if args.child:
        child(args.child, args.n, args.model)
        return 0
    rows = []
    for case in CASES:
        base, full = count(case, 0, args.model), count(case, args.n, args.model)
        rows.append({"case": case, "instructions": (full - base) / args.n})
        print(f"{case}: {rows[-1]['instructions'] / 1e6:.2f} M instructions per call", flush=True)
    command = "python benchmarks/voice_instructions.py " + " ".join(sys.argv[1:])
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.with_suffix(".json").write_text(json.dumps({"command": command, "n": args.n, "model": args.model,
                                                         "rows": rows}, indent=2) + "\n")
    what = {"features": "features of 1 s of 16 kHz speech (one 1 s window)", "inference": "int8 model, one window",
            "gate": "gate levels of 1 s", "classify": "classify 1 s (gate + features + normalisation + inference)"}
    sys.path.insert(0, str(ROOT))
    from edge.bench.system import isa_line

    lines = ["# Voice path: instructions per call (callgrind)", "", f"Command: `{command}`", "",
             f"Machine: {isa_line()} (callgrind's counts do not depend on it, see below)", "",
             "callgrind runs the AVX2 code paths (valgrind does not emulate AVX-512), so these are the counts an "
             "AVX2-only x86 CPU executes. Each figure is (Ir with n calls - Ir with 0 calls) / n.", "",
             "| case | M instructions per call |", "| --- | --- |"]
    lines += [f"| {what[r['case']]} | {r['instructions'] / 1e6:.2f} |" for r in rows]
    args.out.with_suffix(".md").write_text("\n".join(lines) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
