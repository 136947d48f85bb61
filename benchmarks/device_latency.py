"""Expected latency per model on a Jetson Nano (Cortex-A57), a Raspberry Pi 4 (A72) and a Pi 5 (A76), on paper.

    python benchmarks/device_latency.py --out benchmarks/reports     # regenerate after the models change

Per shipped .tflite model: its MACs (the sidecar's `macs`, written by `edge-convert quantize` or
`edge-convert macs`), its time measured here (edge-bench's worker, 1 thread, LiteRT or tflite-runtime), and an
ESTIMATE for each ARM core: MACs divided by a per-core throughput derived from published XNNPACK MobileNet
figures (SOURCES below). The estimates are ranges, not measurements: int8 kernels, clocks, memory and thermals
on the real boards will move them, and nothing here has run on those cores.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from edge.bench.models import bench_models, shipped_models  # noqa: E402
from edge.bench.system import cpu_model, isa_features  # noqa: E402
from edge.description import ModelDescription  # noqa: E402

# Published per-inference MACs of the reference networks (Howard et al. 2017, Table 8: MobileNet v1 1.0 224,
# 569 M mult-adds; Sandler et al. 2018, Table 4: MobileNetV2 1.0 224, 300 M).
MOBILENET_V2_MACS = 300e6
XNNPACK = "XNNPACK README, section Performance (google/XNNPACK, FP32 MobileNet, end2end_bench)"
# Per-core throughput (MAC/s) bounds for each core, each derived from one published XNNPACK figure:
#   RPi 3+ (Cortex-A53, 1.4 GHz), 4 threads, MobileNet v2: 79 ms -> 300e6 / 0.079 / 4 = 0.95 GMAC/s per core
#   RPi 4  (Cortex-A72, 1.5 GHz), 4 threads, MobileNet v2: 44 ms -> 300e6 / 0.044 / 4 = 1.70 GMAC/s per core
#   Pixel 3a (Kryo 360 Gold = Cortex-A75 class, 2.0 GHz), 1 thread, MobileNet v2: 55 ms -> 5.45 GMAC/s
# Four threads rarely scale 4x on the Pis (shared memory bus), so the per-core figures from them are low bounds.
PER_CORE = {
    "A53 @1.4 GHz (RPi 3+)": MOBILENET_V2_MACS / 0.079 / 4,
    "A72 @1.5 GHz (RPi 4)": MOBILENET_V2_MACS / 0.044 / 4,
    "A75 @2.0 GHz (Pixel 3a)": MOBILENET_V2_MACS / 0.055,
}
# Each target core: (low, high) throughput in MAC/s and how the bounds were chosen. The A57 is out-of-order like the
# A72 but older: it sits between the in-order A53 and the A72 (at the Nano's 1.43 GHz). The A76 (Pi 5, 2.4 GHz) is
# at least an A72 at its clock and at least the A75-class core at 2.0 GHz.
TARGETS = {
    "Jetson Nano, Cortex-A57 @1.43 GHz": (PER_CORE["A53 @1.4 GHz (RPi 3+)"] * 1.43 / 1.4,
                                          PER_CORE["A72 @1.5 GHz (RPi 4)"] * 1.43 / 1.5,
                                          "between A53 (RPi 3+) and A72 (RPi 4) per core, scaled to 1.43 GHz"),
    "Raspberry Pi 4, Cortex-A72 @1.5 GHz": (PER_CORE["A72 @1.5 GHz (RPi 4)"], PER_CORE["A72 @1.5 GHz (RPi 4)"] * 2,
                                            "RPi 4 per core from 4 threads; up to 2x if one thread has the memory bus"),
    "Raspberry Pi 5, Cortex-A76 @2.4 GHz": (PER_CORE["A72 @1.5 GHz (RPi 4)"] * 2.4 / 1.5,
                                            PER_CORE["A75 @2.0 GHz (Pixel 3a)"] * 2.4 / 2.0,
                                            "A72 per core at 2.4 GHz .. A75-class single thread at 2.4 GHz"),
}


def isa_flags() -> str:
    """This CPU's SIMD features as one string (edge/bench/system.py reads them, emulation included)."""
    return " ".join(isa_features()["features"] or []) or "unknown"


def measure(paths: list[Path], min_time: float) -> dict[str, float]:
    """p50 ms per model file, 1 thread, on the TFLite backend installed here."""
    from edge.backends import BackendUnavailable, backend_class

    backend = "litert"
    try:
        backend_class(backend)
    except BackendUnavailable:
        backend = "tflite-runtime"
    rows, _ = bench_models(paths, threads=(1,), backends=(backend,), min_time=min_time, warmup_time=0.5)
    return {r["model"]: r["p50_ms"] for r in rows if r.get("status") == "ok"}


def fmt_ms(lo_s: float, hi_s: float) -> str:
    lo, hi = lo_s * 1e3, hi_s * 1e3
    if hi < 0.1:
        return "< 0.1 (call overhead dominates)"
    digits = 0 if lo >= 10 else 1 if lo >= 1 else 2
    return f"{lo:.{digits}f} - {hi:.{digits}f}"


def fmt_macs(m: int) -> str:
    return f"{m / 1e6:,.1f} M" if m >= 1e6 else f"{m:,}"


def voice_features_ms() -> str:
    """The features' thread-CPU p50 per second of audio from the committed voice latency report, as text."""
    try:
        rows = json.loads((ROOT / "benchmarks" / "reports" / "voice_latency.json").read_text())["rows"]
        return f"{next(r for r in rows if r['case'].startswith('features'))['cpu_p50_ms']:.1f} ms"
    except (OSError, ValueError, KeyError, StopIteration):
        return "see the report"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "reports")
    ap.add_argument("--min-time", type=float, default=2.0, help="seconds of timed runs per model here")
    args = ap.parse_args(argv)
    models = [p for p in shipped_models() if p.suffix == ".tflite"]
    macs = {}
    for p in models:
        d = ModelDescription.load(p).raw if p.with_name(p.name + ".json").is_file() else {}
        if "macs" not in d:
            sys.exit(f"device_latency: {p.name} has no `macs` in its sidecar; run `edge-convert macs {p}`")
        macs[p.name] = int(d["macs"])
    here = measure(models, args.min_time)
    cmd = "python benchmarks/device_latency.py " + " ".join(argv if argv is not None else sys.argv[1:])
    lines = [
        "# Expected latency per model on the devices (estimates) and measured here",
        "",
        f"Command: `{cmd.strip()}`",
        "",
        f"Measured here: {cpu_model()} ({platform.machine()}; ISA: {isa_flags()}), 1 thread, p50 of edge-bench's "
        "worker. This CPU has int8 dot-product instructions (VNNI/AMX) that a Cortex-A57/A72 lacks; the A76 has "
        f"SDOT/UDOT. Load average when measured: {os.getloadavg()[0]:.1f} on {os.cpu_count()} logical cores (a shared "
        "machine: other jobs slow these figures).",
        "",
        "**The device columns are ESTIMATES, not measurements**: MACs divided by a per-core throughput range derived",
        f"from published FP32 figures ({XNNPACK}). Our models are int8, which that source did not measure on these",
        "cores; nothing here ran on them. Sources and arithmetic: `benchmarks/device_latency.py` (PER_CORE, TARGETS).",
        "",
        "| model | MACs per inference | here, ms p50 | " + " | ".join(f"{t}, ms (estimate)" for t in TARGETS) + " |",
        "| --- | ---: | ---: | " + " | ".join("---:" for _ in TARGETS) + " |",
    ]
    report = {"command": cmd.strip(), "cpu": cpu_model(), "isa": isa_flags(), "models": {}}
    for p in models:
        m = macs[p.name]
        est = {t: (m / hi, m / lo) for t, (lo, hi, _) in TARGETS.items()}
        ms = here.get(p.name)
        lines.append(f"| `{p.name}` | {fmt_macs(m)} | " + (f"{ms:.3f} | " if ms is not None else "failed | "))
        lines[-1] += " | ".join(fmt_ms(*est[t]) for t in TARGETS) + " |"
        report["models"][p.name] = {"macs": m, "here_p50_ms": ms,
                                    "estimate_ms": {t: [round(a * 1e3, 3), round(b * 1e3, 3)] for t, (a, b) in est.items()}}
    lines += ["", "Per-core throughput assumed (GMAC/s, low - high):", ""]
    lines += [f"- {t}: {lo / 1e9:.2f} - {hi / 1e9:.2f} ({why})" for t, (lo, hi, why) in TARGETS.items()]
    lines += ["", "Not in the table: most of the voice path's cost is its feature extraction "
              f"({voice_features_ms()} per second of audio here, benchmarks/reports/voice_latency.md), not the "
              "classifier's MACs: the numpy functionals and, for `voice` (v3), the float32 speech embedding "
              "(`speech_embedding_mel.tflite` + `speech_embedding.tflite`, no sidecars: about 157 M MACs per second "
              "of speech at its 320 ms stride, VOICE_MODEL_CARD.md, which the Nano row's range puts at 97-162 ms "
              "per second of speech); detection runs once per frame, classification once per face."]
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "device_latency.md").write_text("\n".join(lines) + "\n")
    (args.out / "device_latency.json").write_text(json.dumps(report, indent=2) + "\n")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
