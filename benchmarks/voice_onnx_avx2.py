"""int8 voice ONNX vs int8 TFLite on held-out speakers, on this CPU or an emulated AVX2-only one (issue 10).

Two steps, so the emulator only runs the models: `features` computes (natively) every file's gate verdict
and window features exactly as VoiceClassifier.classify does; `compare` normalises them with each fold
model's own prior, runs its int8 TFLite and int8 ONNX files (runs/voice/folds/<fold>/, from
`edge-convert train-voice`) on the fold's held-out files, and scores UAR per corpus; the shipped pair in
edge/models is checked for label agreement on every file.

Usage:
  python benchmarks/voice_onnx_avx2.py features
  qemu-x86_64-static -cpu Haswell-v4 .venv/bin/python benchmarks/voice_onnx_avx2.py compare --name voice_onnx_avx2 \\
      --emulated "qemu-x86_64-static -cpu Haswell-v4"
  python benchmarks/voice_onnx_avx2.py compare --name voice_onnx_native
Writes benchmarks/reports/<name>.{json,md}.
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

FEATURES = ROOT / "runs" / "voice" / "heldout_features.npz"
FOLDS = ROOT / "runs" / "voice" / "folds"


def features() -> None:
    from convert import DATASETS
    from convert.voice.corpora import load_audio, load_corpora
    from edge.audio.gate import gate_segment
    from edge.classify.voice import VoiceClassifier
    from edge.paths import MODELS_DIR

    utts, _ = load_corpora(DATASETS / "emodb", DATASETS / "ravdess")
    clf = VoiceClassifier(MODELS_DIR / "voice_int8.tflite")  # gate and front-end only: every fold shares them
    rows, owner, gated = [], [], []
    for i, u in enumerate(utts):
        x = load_audio(u.path, clf.sample_rate)
        if gate_segment(x, clf.sample_rate, clf.gate).reason is not None:
            gated.append(i)
            continue
        f = clf.window_features(x)
        rows.append(f)
        owner += [i] * len(f)
    np.savez_compressed(FEATURES, rows=np.concatenate(rows).astype(np.float32), owner=np.array(owner),
                        gated=np.array(gated, np.int64), n=len(utts))
    print(f"{len(utts)} files, {len(owner)} windows, {len(gated)} turned away by the gate -> {FEATURES}")


def _predict(model_path: Path, backend: str | None, rows: np.ndarray, owner: np.ndarray, files: np.ndarray,
             n: int) -> np.ndarray:
    """Per-file answer (label index, -1 none) of one model on `files`: windows normalised by its prior, mean probs."""
    from edge.audio.normalise import RunningNorm
    from edge.classify.model import Model

    m = Model(model_path, backend=backend, threads=1)
    norm = RunningNorm.from_description(m.description.preprocess["norm"])
    pred = np.full(n, -1)
    for i in files:
        w = rows[owner == i]
        if len(w):
            pred[i] = int(np.argmax(m.predict(norm.apply(w)).mean(axis=0)))
    return pred


def cpuid_features() -> str:
    """What this process's CPU says it has (numpy reads cpuid; under qemu-user /proc/cpuinfo is the host's)."""
    try:
        from numpy._core._multiarray_umath import __cpu_features__ as f
    except ImportError:  # numpy < 2
        from numpy.core._multiarray_umath import __cpu_features__ as f
    return " ".join(f"{k}={'yes' if f.get(k) else 'no'}" for k in ("AVX2", "FMA3", "AVX512F", "AVX512_CNL", "AVX512VNNI",
                                                                  "AVX512_SPR"))


def compare(name: str, emulated: str) -> None:
    from convert import DATASETS
    from convert.voice.corpora import load_corpora
    from convert.voice.evaluate import corpus_scores, folds
    from edge.bench.system import isa_line
    from edge.paths import MODELS_DIR

    utts, _ = load_corpora(DATASETS / "emodb", DATASETS / "ravdess")
    d = np.load(FEATURES)
    rows, owner, n = d["rows"], d["owner"], int(d["n"])
    assert n == len(utts), f"{FEATURES} is over {n} files, the corpora hold {len(utts)}: run `features` again"
    t0 = time.time()
    preds = {"tflite": np.full(n, -1), "onnx": np.full(n, -1)}
    labels = None
    for fold, idx in folds(utts):
        for kind, backend in (("tflite", None), ("onnx", "onnxruntime")):
            path = FOLDS / fold / f"voice_int8.{kind}"
            preds[kind][idx] = _predict(path, backend, rows, owner, idx, n)[idx]
        labels = tuple(json.loads((FOLDS / fold / "voice_int8.tflite.json").read_text())["labels"])
    scored = {k: corpus_scores(utts, p, labels) for k, p in preds.items()}
    everything = np.arange(n)
    shipped = {k: _predict(MODELS_DIR / f"voice_int8.{k}", b, rows, owner, everything, n)
               for k, b in (("tflite", None), ("onnx", "onnxruntime"))}
    agree = float((shipped["tflite"] == shipped["onnx"]).mean())
    machine = (f"emulated: {emulated} (the host's /proc/cpuinfo is not what the models ran on)" if emulated
               else isa_line()) + f"; cpuid as this process sees it (numpy): {cpuid_features()}"
    command = (f"{emulated} .venv/bin/python " if emulated else "python ") + "benchmarks/voice_onnx_avx2.py " + \
        shlex.join(sys.argv[1:])
    out = {"command": command, "machine": machine, "seconds": round(time.time() - t0, 1),
           "uar": {k: {c: s[c]["uar"] for c in s} for k, s in scored.items()},
           "recall": {k: {c: s[c]["recall"] for c in s} for k, s in scored.items()},
           "shipped_label_agreement": agree, "files": n}
    rep = ROOT / "benchmarks" / "reports" / name
    rep.with_suffix(".json").write_text(json.dumps(out, indent=1) + "\n")
    lines = [f"# int8 voice ONNX vs int8 TFLite, held-out speakers ({'emulated AVX2-only CPU' if emulated else 'this CPU'})",
             "", f"Command: `{command}` (features first: `python benchmarks/voice_onnx_avx2.py features`)", "",
             f"Machine: {machine}", "",
             "Fold models of `edge-convert train-voice --out runs/voice` (RAVDESS 5 actor-disjoint folds, Emo-DB "
             "leave-one-speaker-out), each on its held-out files, cold start; window features computed natively "
             "(numpy float), only the models run here.", "",
             "| corpus | int8 TFLite UAR % | int8 ONNX UAR % | ONNX - TFLite (points) |", "| --- | --- | --- | --- |"]
    for c in ("ravdess", "emodb"):
        t, o = out["uar"]["tflite"][c], out["uar"]["onnx"][c]
        lines.append(f"| {c} | {100 * t:.2f} | {100 * o:.2f} | {100 * (o - t):+.2f} |")
    lines += ["", f"Shipped `edge/models/voice_int8.onnx` vs `voice_int8.tflite`: same label on {100 * agree:.2f} % "
              f"of all {n} files (training files: a check of the formats, not accuracy).", ""]
    rep.with_suffix(".md").write_text("\n".join(lines))
    print("\n".join(lines))


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("step", choices=("features", "compare"))
    p.add_argument("--name", default="voice_onnx_native", help="report stem under benchmarks/reports")
    p.add_argument("--emulated", default="", help="the emulator this runs under, for the report")
    args = p.parse_args()
    if args.step == "features":
        features()
    else:
        compare(args.name, args.emulated)
    return 0


if __name__ == "__main__":
    sys.exit(main())
