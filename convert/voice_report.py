"""`edge-convert validate-voice`: the voice model's LOSO figures and its shipped artifacts run through edge/.

LOSO figures come from `train-audio` (loso.json): the only speaker-independent numbers. The artifact
table runs every shipped voice file over all of Emo-DB through VoiceClassifier; the final model was
trained on all of it, so those rows measure int8-vs-float agreement, size and speed, not accuracy.
"""

from __future__ import annotations

import argparse
import json
import logging
import time
from pathlib import Path
from typing import Any

import numpy as np

from edge.audio.voice import VoiceClassifier
from edge.labels import VOICE_LABELS
from edge.paths import MODELS_DIR

from .emodb import load_audio, load_emodb
from .report import metrics
from .train_audio import DEFAULT_DATA

logger = logging.getLogger(__name__)
ARTIFACTS = ("voice_float32.tflite", "voice_int8.tflite", "voice_float32.onnx", "voice_int8.onnx")


def _pct(v: float) -> str:
    return f"{100 * v:.2f}"


def loso_markdown(loso: dict[str, Any], command: str) -> str:
    """Per-speaker and overall LOSO table, per-class recall, confusion of the int8 model."""
    has_int8 = "int8_tflite" in loso
    lines = ["# Voice model: leave-one-speaker-out on Emo-DB", "",
             f"Training and LOSO: `{loso.get('command', 'edge-convert train-audio')}`; this report: `{command}`", "",
             f"Protocol: {loso['protocol']}. Model: {'linear softmax' if not loso['hidden'] else loso['hidden']} "
             f"on {loso.get('n_features', 1097)} functionals, {loso.get('ensemble', 1)} runs weight-averaged, "
             f"{loso['epochs']} epochs, seed {loso['seed']}.", "",
             "| held-out speaker | utterances | float UAR % | int8 TFLite UAR % | int8-vs-float agreement % |",
             "| --- | --- | --- | --- | --- |"]
    for s, r in loso["per_speaker"].items():
        lines.append(f"| {s} | {r['n']} | {_pct(r['float_uar'])} | "
                     f"{_pct(r['int8_uar']) if has_int8 else '-'} | {_pct(r['agreement']) if has_int8 else '-'} |")
    lines += ["", f"Mean over {loso.get('orders', 1)} held-out orders (min-max in brackets):", "",
              "| model | UAR % | WA % | macro-F1 % |", "| --- | --- | --- | --- |"]
    for key in ("float", "int8_tflite"):
        if key in loso:
            m = loso[key]
            lines.append(f"| {key} | {_pct(m['uar'])} ({_pct(m['uar_min'])}-{_pct(m['uar_max'])}) | "
                         f"{_pct(m['accuracy'])} ({_pct(m['accuracy_min'])}-{_pct(m['accuracy_max'])}) | "
                         f"{_pct(m['macro_f1'])} |")
    if has_int8:
        lines += ["", f"int8 vs float: agreement {_pct(loso['agreement'])} %, UAR change "
                      f"{100 * (loso['int8_tflite']['uar'] - loso['float']['uar']):+.2f} points."]
    best = loso.get("int8_tflite", loso["float"])
    lines += ["", "Per-class recall % (" + ("int8 TFLite" if has_int8 else "float") + "):", "",
              "| " + " | ".join(VOICE_LABELS) + " |", "|" + " --- |" * len(VOICE_LABELS),
              "| " + " | ".join(_pct(best["recall"][lab]) for lab in VOICE_LABELS) + " |", "",
              "Confusion summed over the orders (rows true, columns predicted, order " + ", ".join(VOICE_LABELS) + "):", "", "```"]
    lines += [" ".join(f"{v:3d}" for v in row) for row in best["confusion"]] + ["```"]
    return "\n".join(lines) + "\n"


def artifact_rows(models_dir: Path, data: Path) -> list[dict[str, Any]]:
    """Each shipped voice artifact over every Emo-DB file, the running statistics reset at each new speaker."""
    utts = load_emodb(data)
    y = np.array([u.label_index for u in utts])
    audio = [load_audio(u.path, 16000) for u in utts]
    rows, preds = [], {}
    for name in ARTIFACTS:
        path = models_dir / name
        if not path.exists():
            continue
        clf = VoiceClassifier(path, backend="onnxruntime" if name.endswith(".onnx") else None)
        pred, times, speaker = [], [], None
        for u, x in zip(utts, audio):
            if u.speaker != speaker:
                clf.norm.reset()  # a new voice: the device starts again from the prior
                speaker = u.speaker
            f = clf.window_features(x)
            t = time.perf_counter()
            p = clf.predict_features(f)
            times.append((time.perf_counter() - t) * 1e3)
            pred.append(int(np.argmax(p)))
        preds[name] = np.array(pred)
        m = metrics(y, preds[name], VOICE_LABELS)
        ref = preds.get(name.replace("int8", "float32")) if "int8" in name else None
        rows.append({"file": name, "size_bytes": path.stat().st_size, "accuracy": m["accuracy"], "uar": m["uar"],
                     "agreement_with_float32": float((preds[name] == ref).mean()) if ref is not None else None,
                     "inference_p50_ms": float(np.percentile(times, 50))})
        logger.info("%s: %s", name, rows[-1])
    return rows


def artifacts_markdown(rows: list[dict[str, Any]], command: str) -> str:
    lines = ["# Shipped voice artifacts through edge/ (Emo-DB, all 428 files)", "", f"Command: `{command}`", "",
             "The shipped model was trained on all 428 files: the accuracy columns are training-set figures (a check "
             "that each format works), not generalisation; see voice_loso.md for that.", "",
             "| artifact | size kB | train-set WA % | train-set UAR % | agreement with float32 % | inference p50 ms |",
             "| --- | --- | --- | --- | --- | --- |"]
    for r in rows:
        agree = _pct(r["agreement_with_float32"]) if r["agreement_with_float32"] is not None else "-"
        lines.append(f"| {r['file']} | {r['size_bytes'] / 1e3:.1f} | {_pct(r['accuracy'])} | {_pct(r['uar'])} | "
                     f"{agree} | {r['inference_p50_ms']:.3f} |")
    return "\n".join(lines) + "\n"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--loso", type=Path, default=Path("runs/voice/loso.json"), help="train-audio's loso.json")
    p.add_argument("--models", type=Path, default=MODELS_DIR, help="folder holding voice_*.tflite/.onnx")
    p.add_argument("--data", type=Path, default=DEFAULT_DATA, help="Emo-DB folder")
    p.add_argument("--out", type=Path, default=Path("benchmarks/reports"), help="report folder")


def run(args: argparse.Namespace) -> int:
    import sys

    command = "edge-convert " + " ".join(sys.argv[1:])
    args.out.mkdir(parents=True, exist_ok=True)
    if args.loso.exists():
        loso = json.loads(args.loso.read_text())
        (args.out / "voice_loso.json").write_text(json.dumps({"command": command, **loso}, indent=2) + "\n")
        (args.out / "voice_loso.md").write_text(loso_markdown(loso, command))
    else:
        logger.warning("%s not found: run `edge-convert train-audio` first for the LOSO figures", args.loso)
    rows = artifact_rows(args.models, args.data)
    (args.out / "voice_artifacts.json").write_text(json.dumps({"command": command, "rows": rows}, indent=2) + "\n")
    (args.out / "voice_artifacts.md").write_text(artifacts_markdown(rows, command))
    return 0
