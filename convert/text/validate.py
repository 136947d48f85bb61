"""`edge-convert validate-text`: the text model's artifacts run through edge/ on GoEmotions test, MELD dev and our own
sentences.

Each artifact is loaded by edge's TextClassifier and every text goes through the device path (checks, tokens,
vocabulary, model), one at a time at one thread, timed. A text the device refuses (no words, not English) counts
as no prediction: a false negative for its labels.
"""

from __future__ import annotations

import argparse
import csv
import json
import logging
import platform
import shlex
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from edge.labels import FACE_LABELS
from edge.paths import MODELS_DIR
from edge.classify.text import TextClassifier, TextResult, with_context

from .. import REPO
from . import meld
from .goemotions import load
from .task import multilabel_scores, single_label_scores
from .train import DEFAULT_DATA

logger = logging.getLogger(__name__)
ARTIFACTS = ("text_int8.tflite", "text_int8.onnx")
OWN_SENTENCES = REPO / "benchmarks" / "data" / "own_sentences.tsv"
BERT_BASE_MACRO_F1 = 0.64  # GoEmotions paper, Ekman grouping, test split (dataset README)


def own_sentences(path: Path) -> tuple[list[str], np.ndarray]:
    with open(path, newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f, delimiter="\t", quoting=csv.QUOTE_NONE))
    y = np.zeros((len(rows), len(FACE_LABELS)), np.float32)
    y[np.arange(len(rows)), [FACE_LABELS.index(r["label"]) for r in rows]] = 1.0
    return [r["text"] for r in rows], y


def run_texts(clf: TextClassifier, texts: list[str]) -> tuple[np.ndarray, list[float], int]:
    """(probabilities, NaN rows for refused texts; per-text milliseconds; refused count)."""
    probs = np.full((len(texts), len(FACE_LABELS)), np.nan, np.float32)
    times, refused = [], 0
    for i, text in enumerate(texts):
        t = time.perf_counter()
        res = clf.classify(text)
        times.append((time.perf_counter() - t) * 1e3)
        if res.probs is None:
            refused += 1
        else:
            probs[i] = res.probs
    return probs, times, refused


def machine() -> str:
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor()) if Path("/proc/cpuinfo").exists() else ""
    flags = set(Path("/proc/cpuinfo").read_text().split()) if Path("/proc/cpuinfo").exists() else set()
    isa = [f for f in ("avx2", "avx512f", "avx512_vnni", "avx_vnni", "amx_int8") if f in flags]
    return f"{cpu} ({platform.machine()}; {', '.join(isa) or 'no AVX2'}), Python {platform.python_version()}"


def context_scores(dev: meld.Lines, probs: np.ndarray, weights: list[float]) -> dict[str, Any]:
    """MELD dev with each line's probabilities mixed with its dialogue's previous line's (edge/text/classify.py
    with_context, as the text channel does with text.context), per weight."""
    prev = dev.previous()
    out = {}
    for w in weights:
        mixed = np.array([with_context(TextResult(p, None, ()), probs[j] if j >= 0 and not np.isnan(probs[j]).any()
                                       else None, w).probs if not np.isnan(p).any() else p for p, j in zip(probs, prev)])
        out[f"{w:g}"] = single_label_scores(dev.y, mixed)
    return out


def evaluate(models: Path, data: Path, own: Path, names: tuple[str, ...], meld_dir: Path | None = None,
             context: list[float] | None = None) -> dict[str, Any]:
    test = load(data, splits=("test",))["test"]
    meld_dev = meld.load(meld_dir, ("dev",))["dev"] if meld_dir else None
    own_texts, own_y = own_sentences(own)
    rows, preds = [], {}
    for name in names:
        path = models / name
        if not path.exists():
            logger.warning("%s not found, skipped", path)
            continue
        clf = TextClassifier(path, backend="onnxruntime" if name.endswith(".onnx") else None, threads=1)
        probs, times, refused = run_texts(clf, test.texts)
        preds[name] = np.where(np.isnan(probs).any(1), -1, np.nan_to_num(probs).argmax(1))
        m = multilabel_scores(test.y, probs)
        own_probs, _, own_refused = run_texts(clf, own_texts)
        meld_m = ctx = None
        if meld_dev is not None:
            meld_probs = run_texts(clf, meld_dev.texts)[0]
            meld_m = single_label_scores(meld_dev.y, meld_probs)
            ctx = context_scores(meld_dev, meld_probs, context) if context else None
        files = [path, path.parent / clf.spec.vocabulary]
        rows.append({"file": name, "backend": clf.model.backend.name, "size_bytes": path.stat().st_size,
                     "vocabulary_bytes": files[1].stat().st_size, "test": m, "refused": refused,
                     "own": multilabel_scores(own_y, own_probs), "own_refused": own_refused, "meld_dev": meld_m,
                     "meld_dev_context": ctx,
                     "latency_ms": {q: float(np.percentile(times, int(q[1:]))) for q in ("p50", "p90", "p99")},
                     "max_tokens_read": clf.spec.max_tokens})
        logger.info("%s: test macro-F1 %.4f, single-label accuracy %.4f, own %.4f, p50 %.3f ms", name, m["macro_f1"],
                    m["accuracy_single"], rows[-1]["own"]["accuracy_single"], rows[-1]["latency_ms"]["p50"])
    first = rows[0]["file"] if rows else None
    for r in rows[1:]:
        r["agreement_with_" + first] = float((preds[r["file"]] == preds[first]).mean())
        r["macro_f1_gap_points"] = 100 * (r["test"]["macro_f1"] - rows[0]["test"]["macro_f1"])
    return {"machine": machine(), "n_test": len(test), "n_own": len(own_texts),
            "n_meld_dev": 0 if meld_dev is None else len(meld_dev), "rows": rows}


def markdown(report: dict[str, Any]) -> str:
    pct = lambda v: f"{100 * v:.2f}"  # noqa: E731
    lines = ["# Text model through edge/: GoEmotions test (Ekman grouping), MELD dev and our own sentences", "",
             f"Command: `{report['command']}`", "", f"Machine: {report['machine']}", "",
             f"GoEmotions test: {report['n_test']} comments. Macro-F1 over the 7 labels scores the device's answer (the "
             "arg-max label) against each comment's grouped labels (multi-label rows: right if it is one of them). "
             f"The paper's fine-tuned BERT-base reaches {BERT_BASE_MACRO_F1:.2f} on this grouping (its multi-label "
             "thresholded predictions).", "",
             f"MELD dev: {report.get('n_meld_dev', 0)} Friends lines (one label each): UAR (mean recall over the 7 "
             "labels) and weighted F1 (F1 per label weighted by its support).", "",
             f"| artifact | backend | test macro-F1 % | accuracy, single-label rows % | refused | own {report['n_own']}: "
             "accuracy % | own macro-F1 % | MELD dev UAR % | MELD dev weighted F1 % | agreement with the first % | "
             "size kB | p50 ms | p90 ms |",
             "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    for r in report["rows"]:
        agree = next((pct(v) for k, v in r.items() if k.startswith("agreement_with_")), "-")
        lines.append(f"| {r['file']} | {r['backend']} | {pct(r['test']['macro_f1'])} | {pct(r['test']['accuracy_single'])} "
                     f"({r['test']['n_single']} rows) | {r['refused']} | {pct(r['own']['accuracy_single'])} | "
                     f"{pct(r['own']['macro_f1'])} | {pct(r['meld_dev']['uar']) if r.get('meld_dev') else '-'} | "
                     f"{pct(r['meld_dev']['weighted_f1']) if r.get('meld_dev') else '-'} | {agree} | "
                     f"{r['size_bytes'] / 1e3:.1f} | "
                     f"{r['latency_ms']['p50']:.3f} | {r['latency_ms']['p90']:.3f} |")
    if report["rows"]:
        r = report["rows"][0]
        lines += ["", f"Gap to BERT-base: {100 * (r['test']['macro_f1'] - BERT_BASE_MACRO_F1):+.2f} points of macro-F1 "
                      f"({r['file']}).", "", "Per-class F1 % on test (" + r["file"] + "):", "",
                  "| " + " | ".join(FACE_LABELS) + " |", "|" + " --- |" * len(FACE_LABELS),
                  "| " + " | ".join(pct(r["test"]["per_class"][lab]["f1"]) for lab in FACE_LABELS) + " |"]
    if report["rows"] and report["rows"][0].get("meld_dev_context"):
        lines += ["", f"MELD dev with the previous line of the dialogue mixed in (`text.context`; {r['file']}):", "",
                  "| text.context | UAR % | weighted F1 % | macro-F1 % |", "| --- | --- | --- | --- |"]
        lines += [f"| {w} | {pct(m['uar'])} | {pct(m['weighted_f1'])} | {pct(m['macro_f1'])} |"
                  for w, m in r["meld_dev_context"].items()]
    lines.append(f"\nLatency: one text at a time through `TextClassifier.classify` (checks, tokens, vocabulary, "
                 f"model), 1 thread, over all test comments; at most {r['max_tokens_read'] if report['rows'] else '-'} "
                 "tokens are read per text.")
    return "\n".join(lines) + "\n"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--models", type=Path, default=MODELS_DIR, help="folder holding text_int8.tflite/.onnx and the vocabulary")
    p.add_argument("--artifacts", nargs="+", default=list(ARTIFACTS), help="file names in --models")
    p.add_argument("--data", type=Path, default=DEFAULT_DATA, help="GoEmotions folder")
    p.add_argument("--meld", type=Path, default=meld.DEFAULT_MELD, help="MELD folder: its dev lines are scored too "
                                                                        "(empty: skipped)")
    p.add_argument("--context", type=float, nargs="*", default=[], help="also score MELD dev with the previous line "
                                                                        "mixed in at these text.context weights")
    p.add_argument("--own", type=Path, default=OWN_SENTENCES, help="our own labelled sentences (label<TAB>text)")
    p.add_argument("--out", type=Path, default=Path("benchmarks/reports"), help="report folder")
    p.add_argument("--stem", default="text_validation", help="report file name stem")
    p.add_argument("--emulated", default="", help="the emulator this runs under (e.g. 'qemu-x86_64-static -cpu "
                                                  "Haswell-v4'): the report names it instead of the host CPU, and its "
                                                  "latencies are no speed figure")
    p.add_argument("--min-macro-f1", type=float, default=0.0, help="exit 1 when the first artifact scores below this")
    p.add_argument("--max-gap", type=float, default=0.5, help="exit 1 when another artifact's test macro-F1 differs "
                                                              "from the first's by more than this many points")


def run(args: argparse.Namespace) -> int:
    command = "edge-convert " + shlex.join(sys.argv[1:])
    if args.emulated:  # what was really run: the emulator around this Python
        command = f"{args.emulated} .venv/bin/python -m convert.cli {shlex.join(sys.argv[1:])}"
    report = {"command": command,
              **evaluate(args.models, args.data, args.own, tuple(args.artifacts),
                         args.meld if str(args.meld) not in ("", ".") else None, args.context)}
    if args.emulated:
        report["machine"] = (f"emulated: {args.emulated} (the host's /proc/cpuinfo is not what the program ran on); "
                             "latencies under emulation are NOT speed figures, only the scores count")
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / f"{args.stem}.json").write_text(json.dumps(report, indent=2) + "\n")
    (args.out / f"{args.stem}.md").write_text(markdown(report))
    rows = report["rows"]
    if not rows:
        logger.error("no artifact found in %s", args.models)
        return 1
    ok = rows[0]["test"]["macro_f1"] >= args.min_macro_f1
    ok &= all(abs(r.get("macro_f1_gap_points", 0.0)) <= args.max_gap for r in rows[1:])
    print((args.out / f"{args.stem}.md").read_text())
    return 0 if ok else 1
