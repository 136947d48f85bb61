"""Training step time of a face architecture in float32 and in bf16 (Keras mixed_bfloat16), side by side.

Usage: python benchmarks/train_precision.py [--arch compact-wide] [--steps 15] [--out benchmarks/reports]
writes OUT/train_precision.{json,md}

What `edge-convert train-face --precision auto` decides on: bf16 pays where the CPU has AVX512-BF16 or AMX-BF16
(oneDNN's bf16 kernels) and may cost elsewhere. Each precision runs in its own child process (Keras' dtype policy
is global), on one batch of 128 random 48x48 faces: warm-up steps, then `--steps` timed train_on_batch calls; the
median step is reported. Only the network's arithmetic: augmentation and data loading are left out.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

PRECISIONS = ("float32", "bf16")


def child(arch: str, precision: str, steps: int) -> dict:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import keras
    import numpy as np

    from convert.face.models import ARCHS, macs

    keras.mixed_precision.set_global_policy("mixed_bfloat16" if precision == "bf16" else "float32")
    model = ARCHS[arch]()
    model.compile(keras.optimizers.AdamW(1e-3), "categorical_crossentropy")
    rng = np.random.default_rng(0)
    x = rng.random((128, 48, 48, 1), dtype=np.float32)
    y = np.eye(7, dtype=np.float32)[rng.integers(0, 7, 128)]
    for _ in range(3):
        model.train_on_batch(x, y)
    times = []
    for _ in range(steps):
        t0 = time.perf_counter()
        model.train_on_batch(x, y)
        times.append(time.perf_counter() - t0)
    return {"precision": precision, "macs_m": round(macs(model) / 1e6, 1), "step_ms_p50": 1e3 * float(np.median(times)),
            "steps": steps}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--arch", default="compact-wide")
    ap.add_argument("--steps", type=int, default=15)
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "reports")
    ap.add_argument("--child", choices=PRECISIONS, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        print(json.dumps(child(args.arch, args.child, args.steps)))
        return
    from edge.bench.report import write_json_md
    from edge.bench.system import isa_line, system_info

    rows = []
    for precision in PRECISIONS:
        p = subprocess.run([sys.executable, __file__, "--arch", args.arch, "--steps", str(args.steps), "--child",
                            precision], capture_output=True, text=True, check=True)
        rows.append(json.loads(p.stdout.strip().splitlines()[-1]))
    speedup = rows[0]["step_ms_p50"] / rows[1]["step_ms_p50"]
    info = system_info()
    report = {"arch": args.arch, "batch": 128, "rows": rows, "bf16_speedup": round(speedup, 3), "system": info,
              "command": "python benchmarks/train_precision.py " + " ".join(sys.argv[1:])}
    md = (f"# Training step, float32 vs bf16 ({args.arch}, batch 128)\n\n{isa_line(info)}\n\n"
          "| precision | MACs per face | median step |\n| --- | --- | --- |\n" +
          "".join(f"| {r['precision']} | {r['macs_m']} M | {r['step_ms_p50']:.0f} ms |\n" for r in rows) +
          f"\nbf16 speed-up: **{speedup:.2f}x** (median of {args.steps} steps each, one after the other on a shared "
          f"machine). Command: `{report['command']}`\n")
    write_json_md(args.out, "train_precision", report, md)
    print(md)


if __name__ == "__main__":
    main()
