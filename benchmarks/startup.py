"""Start-up and memory of the real `edge-emotion run` process on the demo clip, as a user sees them.

Time from spawning the process to its first JSON result (imports, model loading, sources and the
first frame included), and the process's peak resident memory (VmHWM) after it has played the
clip for a while. Each trial is a fresh process; the median is reported.

    python benchmarks/startup.py --trials 5 --seconds 10 --out benchmarks/reports
"""

from __future__ import annotations

import argparse
import json
import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from edge.bench.system import isa_line, system_info  # noqa: E402


def vm_kb(pid: int, key: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1])
    raise KeyError(key)


def trial(seconds: float) -> dict:
    cmd = [sys.executable, "-m", "edge.cli", "run", "--source", "sample"]
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    first = proc.stdout.readline()
    first_s = time.perf_counter() - t0
    json.loads(first)  # a real result, not a log line
    lines = 1
    end = time.monotonic() + seconds
    while time.monotonic() < end and proc.stdout.readline():
        lines += 1
    hwm_kb, rss_kb = vm_kb(proc.pid, "VmHWM"), vm_kb(proc.pid, "VmRSS")
    proc.send_signal(signal.SIGTERM)
    t_stop = time.perf_counter()
    code = proc.wait(timeout=10)
    return {"first_result_s": round(first_s, 3), "peak_rss_mb": round(hwm_kb / 1024, 1),
            "rss_mb": round(rss_kb / 1024, 1), "results": lines, "stop_s": round(time.perf_counter() - t_stop, 3),
            "exit_code": code}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--trials", type=int, default=5)
    ap.add_argument("--seconds", type=float, default=10.0, help="how long each process plays the clip")
    ap.add_argument("--out", type=Path, help="folder for startup.json and startup.md")
    args = ap.parse_args()
    trials = [trial(args.seconds) for _ in range(args.trials)]
    summary = {k: statistics.median(t[k] for t in trials) for k in ("first_result_s", "peak_rss_mb", "rss_mb", "stop_s")}
    command = "python benchmarks/startup.py " + " ".join(sys.argv[1:])
    report = {"command": command, "system": system_info(), "trials": trials, "median": summary,
              "targets": {"first_result_s": 2.0, "peak_rss_mb": 200.0, "stop_s": 2.0}}
    print(json.dumps(report["median"]))
    if args.out:
        args.out.mkdir(parents=True, exist_ok=True)
        (args.out / "startup.json").write_text(json.dumps(report, indent=2) + "\n")
        rows = "\n".join(f"| {i + 1} | {t['first_result_s']} | {t['peak_rss_mb']} | {t['stop_s']} | {t['exit_code']} |"
                         for i, t in enumerate(trials))
        (args.out / "startup.md").write_text(
            f"# `edge-emotion run --source sample`: start-up, memory, stop\n\nCommand: `{command}`\n\n"
            f"{isa_line(report['system'])}\n\n"
            "| trial | first result after spawn (s) | peak RSS (MB) | SIGTERM to exit (s) | exit code |\n"
            f"| --- | --- | --- | --- | --- |\n{rows}\n\n"
            f"Median: first result **{summary['first_result_s']} s** (target <= 2 s), peak RSS "
            f"**{summary['peak_rss_mb']} MB** (target <= 200 MB), stop **{summary['stop_s']} s** (target <= 2 s).\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
