"""Classification metrics and their Markdown/JSON report, shared by the face and the voice model."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from edge.bench.system import isa_line


def confusion(y_true: np.ndarray, y_pred: np.ndarray, n: int) -> np.ndarray:
    """(n, n) counts: row = true class, column = predicted class."""
    cm = np.zeros((n, n), np.int64)
    np.add.at(cm, (np.asarray(y_true), np.asarray(y_pred)), 1)
    return cm


def metrics(y_true: np.ndarray, y_pred: np.ndarray, labels: Sequence[str]) -> dict[str, Any]:
    """Accuracy (= WA), macro-F1, per-class recall and its mean (= UAR), confusion matrix."""
    cm = confusion(y_true, y_pred, len(labels))
    support, predicted, hits = cm.sum(1), cm.sum(0), np.diag(cm)
    recall = np.divide(hits, support, out=np.zeros(len(labels)), where=support > 0)
    precision = np.divide(hits, predicted, out=np.zeros(len(labels)), where=predicted > 0)
    f1 = np.divide(2 * precision * recall, precision + recall, out=np.zeros(len(labels)), where=precision + recall > 0)
    return {
        "n": int(cm.sum()),
        "accuracy": float(hits.sum() / max(1, cm.sum())),
        "macro_f1": float(f1.mean()),
        "uar": float(recall.mean()),
        "recall": {lab: float(r) for lab, r in zip(labels, recall)},
        "confusion": cm.tolist(),
    }


def ece(conf: np.ndarray, correct: np.ndarray, bins: int = 10, weight: np.ndarray | None = None) -> float:
    """Expected calibration error of the top class: per equal-width confidence bin, |accuracy - mean confidence|
    weighted by the bin's share of the (optionally weighted) samples."""
    conf, correct = np.asarray(conf, np.float64), np.asarray(correct, np.float64)
    weight = np.ones_like(conf) if weight is None else np.asarray(weight, np.float64)
    which = np.clip(np.digitize(conf, np.linspace(0.0, 1.0, bins + 1)[1:-1]), 0, bins - 1)
    total, err = weight.sum(), 0.0
    for b in range(bins):
        w = weight * (which == b)
        if w.sum() > 0:
            err += abs(np.average(correct, weights=w) - np.average(conf, weights=w)) * w.sum() / total
    return float(err)


def mix_scores(recall: dict[str, float], mix: dict[str, float]) -> dict[str, float]:
    """Balanced accuracy (mean recall) and accuracy re-weighted to a class mix (recall weighted by the mix)."""
    return {"balanced_accuracy": float(np.mean(list(recall.values()))),
            "mix_accuracy": float(sum(mix[c] * r for c, r in recall.items()) / sum(mix[c] for c in recall))}


def plot_confusion(cm: np.ndarray, labels: Sequence[str], path: str | Path, title: str = "") -> Path:
    """Row-normalised confusion matrix as a PNG."""
    import matplotlib

    matplotlib.use("Agg")  # files only, no display
    import matplotlib.pyplot as plt

    cm = np.asarray(cm, dtype=np.float64)
    norm = cm / np.maximum(cm.sum(1, keepdims=True), 1)
    fig, ax = plt.subplots(figsize=(6, 5))
    ax.imshow(norm, cmap="Blues", vmin=0, vmax=1)
    ax.set_xticks(range(len(labels)), labels, rotation=45, ha="right")
    ax.set_yticks(range(len(labels)), labels)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    for i in range(len(labels)):
        for j in range(len(labels)):
            ax.text(j, i, f"{norm[i, j]:.2f}", ha="center", va="center", fontsize=7,
                    color="white" if norm[i, j] > 0.5 else "black")
    ax.set_title(title)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return Path(path)


def _pct(v: float) -> str:
    return f"{100 * v:.2f}"


def markdown(report: dict[str, Any]) -> str:
    """Report dict (as written to JSON) -> Markdown: one row per artifact, then per-class recall."""
    rows = report["artifacts"]
    labels = report["labels"]
    isa = [isa_line(report["system"]), ""] if report.get("system") else []
    lines = [f"# {report['title']}", "", *report.get("notes", []), "", *isa,
             "| artifact | backend | accuracy % | macro-F1 % | UAR % | agreement with float % | size kB | latency p50 ms | p90 ms |",
             "| --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    for r in rows:
        agree = _pct(r["agreement"]) if r.get("agreement") is not None else "-"
        lat = r.get("latency_ms") or {}
        ms = [f"{lat[k]:.3f}" if k in lat else "-" for k in ("p50", "p90")]
        lines.append(f"| {r['file']} | {r['backend']} | {_pct(r['accuracy'])} | {_pct(r['macro_f1'])} | {_pct(r['uar'])} | "
                     f"{agree} | {r['size_bytes'] / 1e3:.1f} | {ms[0]} | {ms[1]} |")
    lines += ["", "Per-class recall %:", "", "| artifact | " + " | ".join(labels) + " |", "| --- |" + " --- |" * len(labels)]
    for r in rows:
        lines.append(f"| {r['file']} | " + " | ".join(_pct(r["recall"][lab]) for lab in labels) + " |")
    drifts = [r for r in rows if r.get("prob_shift_max") is not None]
    if drifts:
        lines += ["", "Distance from the float32 twin (probabilities; flips = faces whose label changed):", "",
                  "| artifact | agreement % | max prob shift p99 | max prob shift | flips | largest float margin flipped |",
                  "| --- | --- | --- | --- | --- | --- |"]
        lines += [f"| {r['file']} | {_pct(r['agreement'])} | {r['prob_shift_p99']:.3f} | {r['prob_shift_max']:.3f} | "
                  f"{r['flipped']} | {r['flip_margin_max']:.3f} |" for r in drifts]
    for c in report.get("checks", []):
        lines.append(f"\n**{c['name']}**: {'PASS' if c['ok'] else 'FAIL'} ({c['detail']})")
    return "\n".join(lines) + "\n"


def write_report(report: dict[str, Any], stem: str | Path) -> tuple[Path, Path]:
    """Write `<stem>.json` and `<stem>.md`."""
    stem = Path(stem)
    stem.parent.mkdir(parents=True, exist_ok=True)
    js, md = stem.with_suffix(".json"), stem.with_suffix(".md")
    js.write_text(json.dumps(report, indent=2) + "\n")
    md.write_text(markdown(report))
    return js, md
