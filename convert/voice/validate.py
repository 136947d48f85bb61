"""`edge-convert validate-voice`: the cross-validation report of `train-voice` (cv.json) as Markdown and JSON.

Every figure in it comes from fold models quantized and run through edge/ on held-out speakers;
the shipped model (trained on everything) is only checked for agreement between its formats.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path
from typing import Any

import numpy as np

from edge.paths import MODELS_DIR

logger = logging.getLogger(__name__)
ARTIFACTS = ("voice_float32.tflite", "voice_int8.tflite", "voice_float32.onnx", "voice_int8.onnx")
CONDITION_TEXT = {"clean": "as recorded", "gain-20dB": "scaled by -20 dB (16-bit)",
                  "gain+10dB": "scaled by +10 dB, clipped at full scale",
                  "pink-snr20": "pink (1/f) noise, 20 dB under the active speech level",
                  "pink-snr10": "pink (1/f) noise, 10 dB under the active speech level"}


PROTOCOL_V2 = ("Protocol: RAVDESS actors 01-20 in 5 actor-disjoint folds of 4 (the other 16 actors and all of Emo-DB "
               "train), Emo-DB leave-one-speaker-out (the other 7 speakers and all 20 RAVDESS actors train).")
PROTOCOL_JOINT = ("Protocol: 5 folds, each holding out whole speakers of every corpus at once (RAVDESS actors k, k+5, "
                  "k+10, k+15; 1-2 Emo-DB speakers; 1-2 nEMO actors; the fold names list them); the other speakers of "
                  "the training corpora train.")


def _pct(v: float) -> str:
    return f"{100 * v:.2f}"


def _confusion(block: dict[str, Any], title: str) -> list[str]:
    cols = block["labels"]
    lines = [f"{title} (rows true, columns answered):", "", "| true \\ answer | " + " | ".join(cols) + " |",
             "|---" * (len(cols) + 1) + "|"]
    for label, row in zip(block["recall"], block["confusion"]):
        lines.append(f"| {label} | " + " | ".join(str(v) for v in row) + " |")
    return lines + [""]


def classifier_text(cv: dict[str, Any]) -> str:
    """The classifier recipe of a cv.json in words (v2.0 files carry only `l2`)."""
    r = cv.get("recipe") or {"hidden": 0, "l2": cv["l2"]}
    if not r["hidden"]:
        return f"softmax layer, L-BFGS, L2 {r['l2']:g}"
    members = r.get("members", 1)
    seeds = f"s averaged (seeds {r['seed']}-{r['seed'] + members - 1})" if members > 1 else ""
    return (f"{members} MLP{seeds}, "
            f"each {r['hidden']} ReLU units, dropout {r['dropout_in']:g} (input) / {r['dropout']:g}, weight decay "
            f"{r['weight_decay']:g}, Adam {r['lr']:g}, {r['epochs']} epochs, batch {r['batch']}")


def cv_markdown(cv: dict[str, Any], command: str, machine: str) -> str:
    cond = cv["conditions"]
    clean = cond["clean"]
    lines = ["# Voice model: speaker-independent evaluation through edge/", "",
             f"Command: `{cv.get('command', 'edge-convert train-audio')}`; this report: `{command}`", "",
             f"Machine: {machine}", "",
             (PROTOCOL_JOINT if cv.get("protocol") == "joint-5" else PROTOCOL_V2) + " Each fold "
             "is quantized to int8 TFLite and ONNX and run through `edge/` (gate, features, normalisation, model) on "
             "its held-out files. Cold start: each file judged alone against the training prior, as "
             "`edge-emotion infer` does. A file the gate turns away counts as wrong. "
             f"Augmented copies per training file: {cv['augment']}; classifier: {classifier_text(cv)}; "
             f"seed {cv['seed']}.", "",
             "## Headline (int8 TFLite, cold start, per file)", "",
             "| corpus | classes | UAR % | WA % | files | no answer |", "| --- | --- | --- | --- | --- | --- |"]
    for corpus, classes in (("ravdess", "6 shared"), ("emodb", "7"), ("nemo", "5 (surprised not scored)")):
        if corpus not in clean["tflite-int8"]:
            continue
        m = clean["tflite-int8"][corpus]
        lines.append(f"| {corpus} | {classes} | **{_pct(m['uar'])}** | {_pct(m['wa'])} | {m['n']} | {m['no_answer']} |")
    lines += ["", "Same files, other ways of running the fold models:", "",
              "| corpus | float (numpy) | int8 TFLite | int8 ONNX (this CPU) | int8 TFLite, running normalisation "
              f"(mean of {cv['orders']} orders, min-max) |", "| --- | --- | --- | --- | --- |"]
    for corpus in [c for c in ("ravdess", "emodb", "nemo") if c in clean["tflite-int8"]]:
        r = cv["running"][corpus]
        lines.append(f"| {corpus} | {_pct(clean['float'][corpus]['uar'])} | {_pct(clean['tflite-int8'][corpus]['uar'])} "
                     f"| {_pct(clean['onnx-int8'][corpus]['uar'])} | {_pct(r['uar'])} ({_pct(r['uar_min'])}-"
                     f"{_pct(r['uar_max'])}) |")
    lines += ["", "## Level and noise (int8 TFLite, cold start)", "",
              "| input | RAVDESS UAR % | Emo-DB UAR % | no answer (silence / too quiet / too short) |",
              "| --- | --- | --- | --- |"]
    for c, block in cond.items():
        na = block["no_answer"]
        lines.append(f"| {CONDITION_TEXT.get(c, c)} | {_pct(block['tflite-int8']['ravdess']['uar'])} | "
                     f"{_pct(block['tflite-int8']['emodb']['uar'])} | {na['silence']} / {na['too quiet']} / "
                     f"{na['too short']} of {block['files']} |")
    lines += ["", "Noise is generated (numpy, `convert/voice/data.py`), never downloaded; SNR is measured against the "
              "active speech level (mean power of the 10 ms blocks within 30 dB of the loudest).", "",
              "## Per-class recall % (int8 TFLite, cold start, clean)", ""]
    for corpus in [c for c in ("ravdess", "emodb", "nemo") if c in clean["tflite-int8"]]:
        rec = clean["tflite-int8"][corpus]["recall"]
        lines += [f"{corpus}: " + ", ".join(f"{k} {_pct(v)}" for k, v in rec.items()), ""]
    lines += ["Running normalisation, per class: " + "; ".join(
        f"{corpus}: " + ", ".join(f"{k} {_pct(v)}" for k, v in cv["running"][corpus]["recall"].items())
        for corpus in cv["running"]), ""]
    lines += _confusion(clean["tflite-int8"]["ravdess"], "RAVDESS confusion")
    lines += _confusion(clean["tflite-int8"]["emodb"], "Emo-DB confusion")
    if "nemo" in clean["tflite-int8"]:
        lines += _confusion(clean["tflite-int8"]["nemo"], "nEMO confusion")
    lines += ["## Files outside each corpus's scored classes (int8 TFLite answers)", "",
              "| emotion (RAVDESS unless named) | " + " | ".join(cv["labels"] + ["no answer"]) + " |",
              "|---" * (len(cv["labels"]) + 2) + "|"]
    for label, counts in cv["other_labels"].items():
        lines.append(f"| {label} | " + " | ".join(str(v) for v in counts.values()) + " |")
    lines += ["", "## Per fold (clean, UAR %: float / int8 TFLite / int8 ONNX)", "",
              "| fold | files | corpus | UAR % |",
              "| --- | --- | --- | --- |"]
    for f in cv["folds"]:
        for corpus in f["float"]:  # the corpora this fold holds out (v2's folds hold out one corpus each)
            lines.append(f"| {f['fold']} | {f['files']} | {corpus} | " + " / ".join(
                _pct(f[m][corpus]["uar"]) for m in ("float", "tflite-int8", "onnx-int8")) + " |")
    return "\n".join(lines) + "\n"


def artifact_agreement(models_dir: Path, data: Path | None = None) -> list[dict[str, Any]]:
    """Each shipped voice artifact on every file of both corpora through VoiceClassifier; agreement with float32.

    The shipped model was trained on all these files: this checks that the formats agree, not accuracy.
    """
    from edge.classify.voice import VoiceClassifier

    from .. import DATASETS
    from .corpora import load_audio, load_corpora

    utts, _ = load_corpora(DATASETS / "emodb", DATASETS / "ravdess")
    audio = [load_audio(u.path, 16000) for u in utts]
    preds, rows = {}, []
    for name in ARTIFACTS:
        path = models_dir / name
        if not path.exists():
            continue
        clf = VoiceClassifier(path, backend="onnxruntime" if name.endswith(".onnx") else None)
        preds[name] = np.array([clf.labels.index(r.emotion) if r.emotion else -1
                                for r in (clf.classify(x, 16000) for x in audio)])
        ref = preds.get(name.replace("int8", "float32")) if "int8" in name else None
        rows.append({"file": name, "size_bytes": path.stat().st_size,
                     "agreement_with_float32": float((preds[name] == ref).mean()) if ref is not None else None})
        logger.info("%s: %s", name, rows[-1])
    return rows


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--cv", type=Path, default=Path("runs/voice/cv.json"), help="train-voice's cv.json")
    p.add_argument("--models", type=Path, default=MODELS_DIR, help="folder holding voice_*.tflite/.onnx")
    p.add_argument("--out", type=Path, default=Path("benchmarks/reports"), help="report folder")
    p.add_argument("--name", default="voice_cv", help="report file stem")
    p.add_argument("--no-artifacts", dest="artifacts", action="store_false", help="skip the shipped-artifact check")


def run(args: argparse.Namespace) -> int:
    from edge.bench.report import write_json_md
    from edge.bench.system import isa_line, system_info

    command = "edge-convert " + " ".join(sys.argv[1:])
    args.out.mkdir(parents=True, exist_ok=True)
    cv = json.loads(args.cv.read_text())
    info = system_info()
    machine = f"{isa_line(info)}; {info['cores_logical']} cores"
    write_json_md(args.out, args.name, {"report_command": command, **cv}, cv_markdown(cv, command, machine))
    if args.artifacts:
        rows = artifact_agreement(args.models)
        (args.out / "voice_artifacts.json").write_text(json.dumps({"command": command, "rows": rows}, indent=2) + "\n")
    return 0
