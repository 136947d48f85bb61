"""Report output: terminal table, JSON, CSV, Markdown, a PNG of latency distributions, and ratios."""

from __future__ import annotations

import csv
import json
import logging
from pathlib import Path
from typing import Any, Sequence

from .stats import ratios
from .system import isa_line

logger = logging.getLogger(__name__)

SCHEMA = "edge-emotion/bench/1"

# (header, row key, format) per report mode; the same columns feed the terminal and the Markdown.
COLUMNS = {
    "models": [("model", "model", "s"), ("backend", "backend", "s"), ("thr", "threads", "s"), ("status", "status", "s"),
               ("init ms", "init_ms", ".1f"), ("first ms", "first_ms", ".2f"), ("p50 ms", "p50_ms", ".4g"),
               ("p90 ms", "p90_ms", ".4g"), ("p99 ms", "p99_ms", ".4g"), ("mean ms", "mean_ms", ".4g"),
               ("std ms", "std_ms", ".4g"), ("runs/s", "throughput_ips", ".0f"), ("+MB", "rss_added_mb", ".1f"),
               # MACs counted from the model's graph (edge/bench/macs.py); the accuracies are the sidecar's, not measured
               # here (edge-bench models --accuracy measures PrivateTest)
               ("M MACs", "macs_m", ".1f"), ("PrivateTest %", "privatetest_pct", ".2f"),
               ("photos bal.", "photos_balanced", ".3f"), ("photos nat.", "photos_natural", ".3f")],
    # one row per model file, as `yolo benchmark` prints; p50 is the slowest measured case (what --max-p50-ms judges)
    "summary": [("model", "model", "s"), ("format", "format", "s"), ("size MB", "size_mb", ".2f"),
                ("accuracy", "accuracy", ".4f"), ("p50 ms", "p50_ms", ".4g"), ("status", "status", "s")],
    "pipeline": [("stage", "stage", "s"), ("n", "n", "d"), ("p50 ms", "p50_ms", ".2f"), ("p95 ms", "p95_ms", ".2f"),
                 ("p99 ms", "p99_ms", ".2f"), ("mean ms", "mean_ms", ".2f"), ("share %", "share_pct", ".1f")],
}


def write_json_md(out: Path, stem: str, report: dict[str, Any], markdown: str) -> None:
    """`out/STEM.json` (the report) and `out/STEM.md` (its Markdown), as the benchmark scripts save them."""
    out.mkdir(parents=True, exist_ok=True)
    (out / f"{stem}.json").write_text(json.dumps(report, indent=1) + "\n")
    (out / f"{stem}.md").write_text(markdown)
    print(f"wrote {out / (stem + '.json')} and {out / (stem + '.md')}")


def _cell(row: dict[str, Any], key: str, fmt: str) -> str:
    v = row.get(key)
    if v is None or v == "":
        return "-"
    try:
        return format(v, fmt)
    except (TypeError, ValueError):
        return str(v)


def table(rows: Sequence[dict[str, Any]], mode: str) -> str:
    """Fixed-width table; missing and failed rows show their reason underneath."""
    cols = COLUMNS[mode]
    cells = [[h for h, _, _ in cols]] + [[_cell(r, k, f) for _, k, f in cols] for r in rows]
    widths = [max(len(c[i]) for c in cells) for i in range(len(cols))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(line, widths)).rstrip() for line in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    notes = [f"  {r.get('id')}: {r['error']}" for r in rows if r.get("error")]
    return "\n".join(lines + (["", "not run:"] + notes if notes else []))


def summary_text(report: dict[str, Any]) -> str:
    return "".join(f"{k}: {v}\n" for k, v in (report.get("summary") or {}).items())


def markdown_table(rows: Sequence[dict[str, Any]], mode: str) -> str:
    cols = COLUMNS[mode]
    out = ["| " + " | ".join(h for h, _, _ in cols) + " |", "|" + "---|" * len(cols)]
    out += ["| " + " | ".join(_cell(r, k, f) for _, k, f in cols) + " |" for r in rows]
    return "\n".join(out)


def system_lines(system: dict[str, Any]) -> list[str]:
    """The 'what it ran on' block, one fact a line; unreadable facts say so."""
    def show(v: Any) -> str:
        if v is None:
            return "not readable here"
        if isinstance(v, dict):
            return ", ".join(f"{k} {x}" for k, x in v.items())
        return str(v)
    def show_isa(v: Any) -> str:
        return f"{v['int8_path']}; " + (" ".join(v["features"]) if v.get("features") else "features not readable")
    return [f"- {k}: {show_isa(v) if k == 'isa' and isinstance(v, dict) else show(v)}" for k, v in system.items()]


def markdown(report: dict[str, Any]) -> str:
    mode = report["mode"]
    parts = [f"# edge-bench {mode} report", "", f"Command: `{report['command']}`", "",
             f"{isa_line(report['system'])}", "",
             f"Started {report['started']}, took {report['duration_s']:.1f} s.", ""]
    if report.get("summary"):
        parts += ["## Summary", ""] + [f"- {k}: {v}" for k, v in report["summary"].items()] + [""]
    parts += ["## Results", "", markdown_table(report["results"], mode), ""]
    errors = [r for r in report["results"] if r.get("error")]
    if errors:
        parts += ["Not run:", ""] + [f"- `{r['id']}`: {r['error']}" for r in errors] + [""]
    if report.get("gate_summary"):
        parts += ["## Summary per model", "", markdown_table(report["gate_summary"], "summary"), ""]
    if report.get("accuracy"):
        parts += ["## Accuracy gate", ""] + [
            f"- {a['model']} on {a['data']}: {a['accuracy']:.4f} ({a['n']} samples), floor {a['floor']}: "
            f"{'pass' if a['passed'] else 'FAIL'}" for a in report["accuracy"]] + [""]
    parts += ["## What it ran on", ""] + system_lines(report["system"]) + [""]
    models = {r["model"]: r["sha256"] for r in report["results"] if r.get("sha256")}
    if models:
        parts += ["Model sha256:", ""] + [f"- {m}: `{h}`" for m, h in models.items()] + [""]
    return "\n".join(parts)


def write_csv(rows: Sequence[dict[str, Any]], path: Path) -> None:
    keys: list[str] = []
    for r in rows:
        keys += [k for k in r if k not in keys]
    with open(path, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=keys)
        w.writeheader()
        w.writerows(rows)


def write_plot(samples: dict[str, Sequence[float]], path: Path, title: str) -> bool:
    """Box plot of every latency distribution; False (and a log line) when matplotlib is missing."""
    if not samples:
        return False
    try:
        import matplotlib

        matplotlib.use("Agg")  # no display on a device or in CI
        import matplotlib.pyplot as plt
        import matplotlib.ticker
    except ImportError:
        logger.warning("matplotlib is not installed: %s not written (pip install matplotlib)", path.name)
        return False
    labels = list(samples)[::-1]  # first row of the table at the top
    fig, ax = plt.subplots(figsize=(9, 0.45 * len(labels) + 1.5))
    data = [samples[k] for k in labels]
    try:
        ax.boxplot(data, orientation="horizontal", whis=(1, 99), showfliers=False)
    except TypeError:  # matplotlib < 3.10 names it `vert`
        ax.boxplot(data, vert=False, whis=(1, 99), showfliers=False)
    ax.set_yticks(range(1, len(labels) + 1), labels, fontsize=8)
    ax.set_xscale("log")
    ax.xaxis.set_major_formatter(matplotlib.ticker.FormatStrFormatter("%g"))
    ax.xaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
    ax.set_xlabel("latency, ms (log scale; box 25-75 %, whiskers 1-99 %)")
    ax.set_title(title, fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return True


def write_all(report: dict[str, Any], samples: dict[str, Sequence[float]], out: Path) -> list[Path]:
    """`--out DIR`: <mode>.json, .csv, .md and .png (the last only with matplotlib)."""
    out.mkdir(parents=True, exist_ok=True)
    stem = out / report["mode"]
    paths = [stem.with_suffix(".json"), stem.with_suffix(".csv"), stem.with_suffix(".md")]
    paths[0].write_text(json.dumps(report, indent=1) + "\n")
    write_csv(report["results"], paths[1])
    paths[2].write_text(markdown(report))
    png = stem.with_suffix(".png")
    if write_plot(samples, png, f"edge-bench {report['mode']}: {report['system'].get('cpu', '')}"):
        paths.append(png)
    return paths


def load(path: str | Path) -> dict[str, Any]:
    """A stored report; errors name the file and what is wrong with it."""
    p = Path(path)
    try:
        report = json.loads(p.read_text())
    except FileNotFoundError:
        raise SystemExit(f"edge-bench: report {p} not found") from None
    except (OSError, json.JSONDecodeError) as e:
        raise SystemExit(f"edge-bench: {p} is not a readable JSON report ({e})") from None
    if not isinstance(report, dict) or report.get("schema") != SCHEMA:
        raise SystemExit(f"edge-bench: {p} is not an edge-bench report (schema {SCHEMA!r}); write one with --out DIR")
    return report


def compare_text(old: dict[str, Any], new: dict[str, Any]) -> str:
    """Every figure in both reports with new/old; a ratio below 1 means the new figure is smaller."""
    if old["mode"] != new["mode"]:
        raise SystemExit(f"edge-bench: cannot compare a {old['mode']} report with a {new['mode']} report")
    from .gates import role_matches

    roles = role_matches(old["results"], new["results"])  # differently named models of the same role
    def figures(r: dict[str, Any], ids: dict[str, str]) -> list[dict[str, Any]]:
        return ([{**row, "id": ids.get(row["id"], row["id"])} for row in r["results"]] +
                ([{"id": "summary", **r["summary"]}] if r.get("summary") else []))
    rows = ratios(figures(old, {o: n for n, o in roles.items()}), figures(new, {}))  # shown under the new name
    if not rows:
        return "no result of the new run matches one in the old report (ids differ)"
    head = f"new / old   (old: {old['system'].get('cpu')} {old['started']}; new: {new['system'].get('cpu')} {new['started']})"
    width = max(len(r["id"]) for r in rows)
    paths = [(r["system"].get("isa") or {}).get("int8_path") for r in (old, new)]
    if paths[0] != paths[1]:
        head += (f"\nnote: the int8 paths differ (old: {paths[0]}; new: {paths[1]}): int8 ratios compare the CPUs' "
                 "int8 instructions as much as the models")
    lines = [head, f"{'id'.ljust(width)}  {'figure':16} {'old':>12} {'new':>12} {'new/old':>8}"]
    for r in rows:
        ratio = "-" if r["ratio"] is None else f"{r['ratio']:.3f}"
        lines.append(f"{r['id'].ljust(width)}  {r['figure']:16} {r['old']:12.4g} {r['new']:12.4g} {ratio:>8}")
    medians = [abs(r["ratio"] - 1.0) for r in rows if r["figure"] == "p50_ms" and r["ratio"] is not None]
    if medians:
        lines.append(f"median (p50) agreement: largest |new/old - 1| = {100 * max(medians):.1f} % over {len(medians)} rows")
    from .gates import flags

    lines += [f"note: {f}" for f in flags(old, new)]
    return "\n".join(lines)
