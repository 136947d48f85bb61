"""`edge-bench`: model and pipeline latency reports, report comparison, and the flashing gate."""

from __future__ import annotations

import argparse
import logging
import shlex
import sys
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Sequence

from . import report as rep
from .gates import EXIT_BELOW_FLOOR, EXIT_TOO_SLOW, compare_gates, p50_gate, status_code, summary_rows
from .system import isa_line

logger = logging.getLogger("edge.bench")

__all__ = ["EXIT_BELOW_FLOOR", "EXIT_TOO_SLOW", "main", "parser"]  # the exit codes: edge/bench/gates.py


def _threads(text: str) -> list[int]:
    try:
        values = [int(t) for t in text.split(",") if t.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"--threads takes comma-separated integers like 1,2,4, not {text!r}") from None
    if not values or min(values) < 1:
        raise argparse.ArgumentTypeError(f"--threads needs counts >= 1, got {text!r}")
    return values


def _fraction(flag: str, example: str):
    def parse(text: str) -> float:
        v = float(text)
        if not 0.0 <= v <= 1.0:
            raise argparse.ArgumentTypeError(f"{flag} is a fraction in 0..1 ({example}), not {text}")
        return v
    return parse


def _positive(flag: str):
    def parse(text: str) -> float:
        try:
            v = float(text)
        except ValueError:
            v = -1.0
        if not v > 0:
            raise argparse.ArgumentTypeError(f"{flag} takes a number above 0, not {text!r}")
        return v
    return parse


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--out", type=Path, help="write JSON, CSV, Markdown and a PNG plot into this folder")
    p.add_argument("--compare", type=Path, metavar="OLD.json", help="print new/old for every figure of an earlier report")
    p.add_argument("-v", "--verbose", action="store_true", help="log each case as it runs")


def parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="edge-bench", description=__doc__)
    sub = ap.add_subparsers(dest="mode", required=True)

    m = sub.add_parser("models", help="latency of every shipped (or given) model file per backend and thread count")
    m.add_argument("--model", action="append", default=[], metavar="PATH", help="model file or bundled name (face, face_large, voice, text; repeatable); default: every file in edge/models/")
    m.add_argument("--backend", action="append", default=[], help="litert, tflite-runtime or onnxruntime (repeatable); default: every backend that reads the format")
    m.add_argument("--providers", type=lambda t: [p for p in t.split(",") if p], default=None,
                   help="onnxruntime execution providers in order, e.g. TensorrtExecutionProvider,CUDAExecutionProvider "
                        "(default CPU)")
    m.add_argument("--threads", type=_threads, default=[1], help="thread counts to sweep, e.g. 1,2,4 (default 1)")
    m.add_argument("--min-time", type=float, default=2.0, help="seconds of timed runs per case (default 2)")
    m.add_argument("--warmup", type=float, default=0.5, help="seconds of warm-up runs per case (default 0.5)")
    m.add_argument("--accuracy", type=Path, metavar="DATA", help="FER2013 CSV (face models, PrivateTest) or Emo-DB folder (voice models)")
    m.add_argument("--min-accuracy", type=_fraction("--min-accuracy", "0.6 for 60 %"), metavar="X", help=f"exit {EXIT_BELOW_FLOOR} when any evaluated model scores below X")
    m.add_argument("--limit", type=int, help="evaluate only the first N samples of DATA (quick checks)")
    m.add_argument("--max-p50-ms", type=_positive("--max-p50-ms"), metavar="X",
                   help=f"exit {EXIT_TOO_SLOW} when any measured case's p50 is above X ms (a model that could not be "
                        "measured fails too)")
    m.add_argument("--config", type=Path, help="TOML config as for `edge-emotion run`: --accuracy gates speech with "
                                                "its [audio] gate (margin_db, min_level_db, min_speech_s)")
    _common(m)

    p = sub.add_parser("pipeline", help="per-stage latency of the real runtime loop on a source")
    p.add_argument("--source", default="sample", help="video source as for `edge-emotion run` (default: the demo clip)")
    p.add_argument("--audio", default=None, help="audio source: a WAV file, 'mic', 'sample' or 'none' (default: the config's, i.e. the demo clip's sound)")
    p.add_argument("--duration", type=float, default=None, help="stop after this many seconds (default: the end of a file)")
    p.add_argument("--config", type=Path, help="TOML config as for `edge-emotion run`")
    p.add_argument("--max-speed", action="store_true", help="process every frame of a file as fast as possible "
                   "(default: play it at its own frame rate, dropping frames the loop cannot keep up with)")
    _common(p)

    c = sub.add_parser("compare", help="new/old for every figure of two stored reports; models are matched by file "
                                       "name, else by role (face, voice, text); a changed sha256 or setting is noted")
    c.add_argument("old", type=Path)
    c.add_argument("new", type=Path)
    c.add_argument("--max-slowdown", type=_positive("--max-slowdown"), metavar="R",
                   help=f"exit {EXIT_TOO_SLOW} when a matched case's p50 is more than R times the old one (1.2: 20 %% "
                        "slower)")
    c.add_argument("--max-accuracy-drop", type=_fraction("--max-accuracy-drop", "0.01 for one point"), metavar="P",
                   help=f"exit {EXIT_BELOW_FLOOR} when a model's --accuracy score is more than P below the old one's "
                        "(a fraction: 0.01 is one point)")

    sub.add_parser("system", help="print what this machine is (CPU, clocks, temperature, versions)")
    return ap


def new_report(mode: str, argv: Sequence[str], settings: dict[str, Any]) -> dict[str, Any]:
    from .system import system_info

    return {"schema": rep.SCHEMA, "mode": mode, "command": shlex.join(["edge-bench", *argv]),
            "started": datetime.now(timezone.utc).isoformat(timespec="seconds"), "settings": settings,
            "system": system_info(), "results": []}


def run_models(args: argparse.Namespace, argv: Sequence[str]) -> tuple[dict[str, Any], dict, int]:
    from .models import Artifact, bench_models, shipped_models, speedups

    from ..paths import resolve_any

    only_onnx = args.backend == ["onnxruntime"]  # a bundled name then means its .onnx twin, as in run's config
    paths = [resolve_any(m, "onnxruntime" if only_onnx else None) for m in args.model] or shipped_models()
    if not paths:
        raise SystemExit("edge-bench: no model files in edge/models/ and none given; pass --model PATH")
    from edge.description import description_path
    from edge.classify.model import check_model_file

    for p in paths:  # every path checked before the first (long) case runs
        try:
            Artifact.load(p)
        except (OSError, ValueError) as e:
            raise SystemExit(f"edge-bench: {e}") from None
        wrong = check_model_file(p, unloadable_ok=True) if description_path(p).is_file() else []
        if wrong:  # a sidecar that does not describe its model: refused before anything runs
            raise SystemExit(f"edge-bench: {p}: {wrong[0]}")
    if args.min_accuracy is not None and args.accuracy is None:
        raise SystemExit("edge-bench: --min-accuracy needs --accuracy DATA (a FER2013 CSV or an Emo-DB folder)")
    if args.accuracy is not None:  # the data's kind, and held-out speakers for a voice model, before the long runs
        from .accuracy import gated_models

        gated_models(paths, args.accuracy, args.limit)
    from edge.config import ConfigError, load

    try:
        audio = load(args.config).audio  # checked before the first (long) case runs, like the paths
    except ConfigError as e:
        raise SystemExit(f"edge-bench: {e}") from None
    report = new_report("models", argv, {"threads": args.threads, "min_time_s": args.min_time, "warmup_s": args.warmup,
                                         "backends": args.backend or "all that read the format",
                                         "providers": args.providers,
                                         "config": str(args.config) if args.config else None})
    t0 = time.perf_counter()
    report["results"], samples = bench_models(paths, threads=args.threads, backends=args.backend or None,
                                              min_time=args.min_time, warmup_time=args.warmup,
                                              providers=args.providers)
    report["summary"] = speedups(report["results"])
    if args.accuracy is not None:
        from .accuracy import gate

        report["accuracy"] = gate(paths, args.accuracy, args.min_accuracy, limit=args.limit, audio=audio)
    if args.max_p50_ms is not None:
        report["speed_gate"] = p50_gate(report["results"], args.max_p50_ms)
    report["gate_summary"] = summary_rows(report)
    status = status_code(any(not a["passed"] for a in report.get("accuracy", [])),
                         any(not g["passed"] for g in report.get("speed_gate", [])))
    report["duration_s"] = time.perf_counter() - t0
    return report, samples, status


def run_pipeline(args: argparse.Namespace, argv: Sequence[str]) -> tuple[dict[str, Any], dict, int]:
    from .pipeline import bench_pipeline

    from edge.config import ConfigError

    report = new_report("pipeline", argv, {"source": args.source, "audio": args.audio, "duration_s": args.duration,
                                           "max_speed": args.max_speed,
                                           "config": str(args.config) if args.config else None})
    t0 = time.perf_counter()
    try:
        report["results"], report["summary"], samples = bench_pipeline(
            args.source, audio=args.audio, duration=args.duration, config=args.config, max_speed=args.max_speed)
    except (ConfigError, OSError, RuntimeError, ValueError) as e:
        raise SystemExit(f"edge-bench pipeline: {e}") from None
    report["duration_s"] = time.perf_counter() - t0
    return report, samples, 0


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    args = parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO if getattr(args, "verbose", False) else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s")
    if args.mode == "compare":
        old, new = rep.load(args.old), rep.load(args.new)
        print(rep.compare_text(old, new))
        lines, status = compare_gates(old, new, args.max_slowdown, args.max_accuracy_drop)
        if lines:
            print("\n".join(lines))
        elif args.max_slowdown is not None or args.max_accuracy_drop is not None:
            print("gates: pass")
        return status
    if args.mode == "system":
        from .system import system_info

        info = system_info()
        print(isa_line(info))
        print("\n".join(rep.system_lines(info)))
        return 0
    old = rep.load(args.compare) if args.compare else None  # fail before a long run, not after it
    report, samples, status = (run_models if args.mode == "models" else run_pipeline)(args, argv)
    print(isa_line(report["system"]))
    print(rep.summary_text(report), end="")
    print(rep.table(report["results"], report["mode"]))
    for a in report.get("accuracy", []):
        split = a.get("split", "") + (f" {', '.join(a['speakers'])}" if a.get("speakers") else "")
        print(f"accuracy {a['model']} on {a['data']} ({split}): {a['accuracy']:.4f} (n={a['n']}), "
              f"floor {a['floor']}: {'pass' if a['passed'] else 'FAIL'}")
    if report.get("gate_summary"):  # one table per run, as `yolo benchmark` prints
        print("\nsummary (p50: the slowest measured case)")
        print(rep.table(report["gate_summary"], "summary"))
    if args.out:
        for path in rep.write_all(report, samples, args.out):
            print(f"wrote {path}")
    if old is not None:
        print(rep.compare_text(old, report))
    return status


if __name__ == "__main__":
    sys.exit(main())
