"""What the live page costs the loop: `edge-emotion run --source sample` with the page off, on without a viewer,
and on with one and two viewers of /stream.mjpg.

Each trial is a fresh process on the demo clip (looped, real time, 10 fps). After a warm-up it measures, over
--seconds: the process's CPU time (user + system, all threads: capture, loop, HTTP and JPEG encoder), the results
per second, and the per-step latency of the loop (sum of `timing_ms`, i.e. what inference itself took). Modes
are interleaved trial by trial so that the machine's other load spreads over all of them; medians are reported.

    python benchmarks/live_page.py --trials 3 --seconds 15 --out benchmarks/reports
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.tracking import isa  # noqa: E402
from edge.bench.system import cpu_model  # noqa: E402

MODES = {"page off": (False, 0), "page on, no viewer": (True, 0), "page on, 1 viewer": (True, 1),
         "page on, 2 viewers": (True, 2)}
TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS  # utime, stime


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Viewer(threading.Thread):
    """Reads /stream.mjpg as a browser would, counting pictures."""

    def __init__(self, url: str) -> None:
        super().__init__(daemon=True)
        self.url, self.pictures, self.stop = url, 0, threading.Event()

    def run(self) -> None:
        with urllib.request.urlopen(self.url, timeout=10) as r:
            while not self.stop.is_set():
                line = r.readline()
                if not line:
                    return
                if line.lower().startswith(b"content-length:"):
                    r.readline()
                    r.read(int(line.split(b":")[1]))
                    self.pictures += 1


def trial(page: bool, viewers: int, seconds: float, warmup: float) -> dict:
    port = free_port()
    with tempfile.TemporaryDirectory() as d:
        cfg = Path(d) / "bench.toml"
        cfg.write_text("[video]\nsource = \"sample\"\nloop = true\n[audio]\nsource = \"sample\"\n"
                       f"[output]\nstats_interval_s = 3600\n[http]\nenabled = {str(page).lower()}\nport = {port}\n")
        proc = subprocess.Popen([sys.executable, "-m", "edge.cli", "run", "--config", str(cfg)], cwd=ROOT,
                                stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        try:
            json.loads(proc.stdout.readline())  # running
            watchers = [Viewer(f"http://127.0.0.1:{port}/stream.mjpg") for _ in range(viewers)]
            for w in watchers:
                w.start()
            end = time.monotonic() + warmup
            while time.monotonic() < end:
                proc.stdout.readline()
            c0, t0, pics0 = cpu_seconds(proc.pid), time.monotonic(), sum(w.pictures for w in watchers)
            steps = []
            while time.monotonic() - t0 < seconds:
                r = json.loads(proc.stdout.readline())
                steps.append(sum(r["timing_ms"].values()))
            c1, t1 = cpu_seconds(proc.pid), time.monotonic()
            pics = sum(w.pictures for w in watchers) - pics0
            for w in watchers:
                w.stop.set()
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.wait(10)
    wall = t1 - t0
    return {"cpu_percent": 100.0 * (c1 - c0) / wall, "results_per_s": len(steps) / wall,
            "step_ms_p50": statistics.median(steps), "step_ms_p95": sorted(steps)[int(0.95 * (len(steps) - 1))],
            "pictures_per_s_per_viewer": pics / wall / viewers if viewers else 0.0}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--trials", type=int, default=3)
    ap.add_argument("--seconds", type=float, default=15.0)
    ap.add_argument("--warmup", type=float, default=3.0)
    ap.add_argument("--out", type=Path, required=True)
    args = ap.parse_args()
    runs: dict[str, list[dict]] = {m: [] for m in MODES}
    for i in range(args.trials):
        for mode, (page, viewers) in MODES.items():
            runs[mode].append(trial(page, viewers, args.seconds, args.warmup))
            print(f"trial {i + 1} {mode}: {runs[mode][-1]}", flush=True)
    summary = {m: {k: round(statistics.median(r[k] for r in rs), 3) for k in rs[0]} for m, rs in runs.items()}
    command = "python benchmarks/live_page.py " + " ".join(sys.argv[1:])
    machine = f"{cpu_model()} ({os.cpu_count()} logical cores, ISA: {isa()}), Python {platform.python_version()}"
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "live_page.json").write_text(json.dumps({"command": command, "machine": machine, "summary": summary,
                                                          "trials": runs}, indent=1) + "\n")
    lines = ["# The live page's cost to the loop\n", f"Command: `{command}`  ", f"Machine: {machine}\n",
             f"`edge-emotion run --source sample` (demo clip looped, real time, 10 fps, face + voice), "
             f"{args.trials} interleaved trials of {args.seconds:g} s per mode after {args.warmup:g} s of warm-up; "
             "medians. Stream: http defaults (5 pictures/s cap, 640 px, JPEG quality 70). CPU is the whole process "
             "(all threads) in % of one core; step is the sum of the loop's `timing_ms` per result.\n",
             "| mode | CPU % of one core | results/s | step p50 ms | step p95 ms | pictures/s per viewer |",
             "|---|---|---|---|---|---|"]
    for m, s in summary.items():
        lines.append(f"| {m} | {s['cpu_percent']:.1f} | {s['results_per_s']:.2f} | {s['step_ms_p50']:.2f} | "
                     f"{s['step_ms_p95']:.2f} | {s['pictures_per_s_per_viewer']:.2f} |")
    (args.out / "live_page.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
