"""Soak: the real `edge-emotion run` for a given time, then its memory trend, throughput and longest silence.

By default the kiosk configuration (the demo clip looping with its sound track, in real time, results on
stdout) runs for `--minutes`; every `--sample-s` seconds the child's RSS is read from /proc. Reported:

- RSS slope (MB per hour, least squares over the samples after the first minute of warm-up),
- results per minute (each full minute), voice results and how many distinct utterances they carried,
- the largest gap between two consecutive results,
- SIGTERM to exit at the end, and the exit status.

    nice -n 10 python benchmarks/soak.py --minutes 15 --out benchmarks/reports
"""

from __future__ import annotations

import argparse
import json
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from edge.bench.system import isa_line, system_info  # noqa: E402

KIOSK = '[video]\nsource = "sample"\nloop = true\n[audio]\nsource = "sample"\n[output]\nstats_interval_s = 60.0\n'
WARMUP_S = 60.0  # allocator pools, model arenas and caches settle in the first minute; the slope starts after


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise KeyError("VmRSS")


def slope_per_hour(points: list[tuple[float, float]]) -> float:
    """Least-squares slope of (seconds, MB) in MB per hour."""
    n = len(points)
    if n < 2:
        return 0.0
    mx = sum(t for t, _ in points) / n
    my = sum(v for _, v in points) / n
    var = sum((t - mx) ** 2 for t, _ in points)
    return 3600.0 * sum((t - mx) * (v - my) for t, v in points) / var if var else 0.0


def soak(minutes: float, config: Path, sample_s: float) -> dict:
    cmd = [sys.executable, "-m", "edge.cli", "run", "--config", str(config)]
    t0 = time.monotonic()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT)
    stamps: list[float] = []
    voice, invalid, passes, last_frame = 0, 0, 0, -1
    utterances: set = set()  # (pass of the looping file, utterance start): each one heard
    errors: list[str] = []

    def read_results():
        nonlocal voice, invalid, passes, last_frame
        for line in proc.stdout:
            stamps.append(time.monotonic() - t0)
            try:
                r = json.loads(line)
            except ValueError:
                invalid += 1
                continue
            frame = r.get("frame")
            if frame is not None:
                if frame < last_frame:  # the looping file started again
                    passes += 1
                last_frame = frame
            if r.get("audio"):
                voice += 1
                utterances.add((passes, r["audio"]["start_s"]))

    def read_log():
        for line in proc.stderr:
            if line.startswith(("ERROR", "WARNING", "Traceback")):
                errors.append(line.rstrip())

    threading.Thread(target=read_results, daemon=True).start()
    threading.Thread(target=read_log, daemon=True).start()
    samples: list[tuple[float, float]] = []
    end = t0 + minutes * 60.0
    while time.monotonic() < end and proc.poll() is None:
        time.sleep(min(sample_s, max(0.0, end - time.monotonic())))
        if proc.poll() is None:
            samples.append((time.monotonic() - t0, rss_mb(proc.pid)))
    t_stop = time.monotonic()
    proc.send_signal(signal.SIGTERM)
    code = proc.wait(timeout=30)
    stop_s = time.monotonic() - t_stop
    time.sleep(0.5)  # the reader threads drain the pipes
    run_s = t_stop - t0
    per_minute = [sum(1 for s in stamps if m * 60 <= s < (m + 1) * 60) for m in range(int(run_s // 60))]
    gaps = [(b - a, a) for a, b in zip(stamps, stamps[1:])]
    gap, gap_at = max(gaps) if gaps else (0.0, 0.0)
    steady = [p for p in samples if p[0] >= WARMUP_S]
    return {
        "command": " ".join(["python", "benchmarks/soak.py", *sys.argv[1:]]),
        "run_s": round(run_s, 1), "exit_code": code, "stop_s": round(stop_s, 3),
        "results": len(stamps), "invalid_lines": invalid, "voice_results": voice,
        "file_passes": passes + 1, "utterances_heard": len(utterances),
        "results_per_minute": {"min": min(per_minute, default=0), "max": max(per_minute, default=0),
                               "mean": round(sum(per_minute) / len(per_minute), 1) if per_minute else 0.0},
        "largest_gap_s": round(gap, 3), "largest_gap_at_s": round(gap_at, 1),
        "rss_mb": {"first": round(samples[0][1], 1) if samples else None,
                   "after_warmup": round(steady[0][1], 1) if steady else None,
                   "last": round(samples[-1][1], 1) if samples else None,
                   "max": round(max(v for _, v in samples), 1) if samples else None},
        "rss_slope_mb_per_h": round(slope_per_hour(steady), 2),
        "rss_samples": len(samples), "warnings_and_errors": errors[:20], "warning_count": len(errors),
    }


def markdown(r: dict, system: dict, config_text: str) -> str:
    return (
        "# Soak: `edge-emotion run` over time\n\n"
        f"Command: `{r['command']}`\n\n"
        f"Machine: {isa_line(system)}; {system['cores_logical']} logical cores, {system['memory_mb']} MB, {system['os']}, Python {system['python']}; load average at the start "
        f"{system['load_avg']} (a shared machine: other jobs ran alongside).\n\n"
        f"Configuration (the kiosk):\n\n```toml\n{config_text}```\n\n"
        "| figure | value |\n| --- | --- |\n"
        f"| run | {r['run_s']} s, exit {r['exit_code']}, SIGTERM to exit {r['stop_s']} s |\n"
        f"| results | {r['results']} ({r['invalid_lines']} invalid lines), {r['voice_results']} with a voice result |\n"
        f"| passes of the looping clip, utterances heard | {r['file_passes']}, {r['utterances_heard']} "
        f"({r['utterances_heard'] / max(r['file_passes'], 1):.1f} per pass) |\n"
        f"| results per minute | mean {r['results_per_minute']['mean']}, min {r['results_per_minute']['min']}, "
        f"max {r['results_per_minute']['max']} |\n"
        f"| largest gap between results | {r['largest_gap_s']} s (at {r['largest_gap_at_s']} s) |\n"
        f"| RSS | {r['rss_mb']['first']} MB first sample, {r['rss_mb']['after_warmup']} MB after {WARMUP_S:.0f} s, "
        f"{r['rss_mb']['last']} MB last, {r['rss_mb']['max']} MB max ({r['rss_samples']} samples) |\n"
        f"| RSS slope after warm-up | **{r['rss_slope_mb_per_h']} MB/h** |\n"
        f"| warnings and errors logged | {r['warning_count']} |\n"
        + ("\n" + "\n".join(f"    {e}" for e in r["warnings_and_errors"]) + "\n" if r["warnings_and_errors"] else "")
    )


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--minutes", type=float, default=15.0, help="how long the loop runs (default 15)")
    ap.add_argument("--config", type=Path, help="TOML for `edge-emotion run` (default: the kiosk, demo clip looping)")
    ap.add_argument("--sample-s", type=float, default=10.0, help="seconds between RSS samples (default 10)")
    ap.add_argument("--out", type=Path, help="folder for soak.json and soak.md")
    args = ap.parse_args()
    system = system_info()
    with tempfile.TemporaryDirectory() as tmp:
        config = args.config
        if config is None:
            config = Path(tmp) / "kiosk.toml"
            config.write_text(KIOSK)
        config_text = config.read_text()
        report = soak(args.minutes, config, args.sample_s)
    print(json.dumps({k: v for k, v in report.items() if k != "warnings_and_errors"}))
    if args.out:
        args.out.mkdir(parents=True, exist_ok=True)
        (args.out / "soak.json").write_text(json.dumps({**report, "system": system}, indent=2) + "\n")
        (args.out / "soak.md").write_text(markdown(report, system, config_text))
    return 0 if report["exit_code"] == 0 and report["results"] else 1


if __name__ == "__main__":
    sys.exit(main())
