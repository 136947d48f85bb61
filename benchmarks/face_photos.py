"""Face models on real photographs, end to end: BlazeFace, the model's own crop or alignment, the int8 model.

`../shared/datasets/face-photos/` (310 labelled photos, every class present) is an evaluation set only: nothing
in this project is trained, tuned, selected or calibrated on it. Each model runs through the `FaceChannel` that
`edge-emotion infer` uses (the configured detector, `detect.min_score` / `min_face_px` / `max_faces` at their
defaults, the largest face); a photo without a detected face counts as wrong.

Per model: per-class recall, balanced accuracy (their mean), plain accuracy, accuracy re-weighted to a natural
mix of expressions (NATURAL below: per-class recall weighted by it), the share of neutral faces read as
angry, and the expected calibration error of the top class (ECE, 10 equal-width confidence bins).

    python benchmarks/face_photos.py --out benchmarks/reports                      # face, face_large (+ mirror)
    python benchmarks/face_photos.py --zoo ../shared/models/opencv-zoo-fer/facial_expression_recognition_mobilefacenet_2022july_int8.onnx
"""

from __future__ import annotations

import argparse
import shlex
import shutil
import sys
import tempfile
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

import numpy as np  # noqa: E402

from compare_fer import PHOTOS, load_photos  # noqa: E402
from edge.bench.system import library_versions, sha256, system_info  # noqa: E402
from edge.bench.report import write_json_md  # noqa: E402
from edge.labels import FACE_LABELS, NATURAL_MIX  # noqa: E402

# The natural mix of expressions in a room (edge/labels.py): neutral 50 %, happy 40 %, the other five 10 % together.
NATURAL = NATURAL_MIX
ZOO_SIDECAR = ROOT / "edge" / "models" / "optional" / "opencv_zoo_fer_int8.onnx.json"
ECE_BINS = 10


def ece(conf: np.ndarray, correct: np.ndarray, bins: int = ECE_BINS) -> float:
    """Expected calibration error: per confidence bin |accuracy - mean confidence|, weighted by the bin's share."""
    edges = np.linspace(0.0, 1.0, bins + 1)
    which = np.clip(np.digitize(conf, edges[1:-1]), 0, bins - 1)
    return float(sum(abs(correct[which == b].mean() - conf[which == b].mean()) * (which == b).mean()
                     for b in range(bins) if (which == b).any()))


def scores(pred: list[str | None], conf: list[float], truth: list[str]) -> dict:
    """Recall per class, balanced and natural-mix accuracy, neutral read as angry, ECE where a face was found."""
    pred_a, truth_a = np.array([p or "" for p in pred]), np.array(truth)
    recall = {c: float((pred_a[truth_a == c] == c).mean()) for c in FACE_LABELS if (truth_a == c).any()}
    found = pred_a != ""
    return {
        "images": len(truth), "face_found_rate": float(found.mean()),
        "accuracy": float((pred_a == truth_a).mean()),
        "balanced_accuracy": float(np.mean(list(recall.values()))),
        "natural_mix_accuracy": float(sum(NATURAL[c] * r for c, r in recall.items())),
        "neutral_as_angry": float((pred_a[truth_a == "neutral"] == "angry").mean()),
        "ece": ece(np.array(conf)[found], (pred_a == truth_a)[found]),
        "recall": recall,
        "predicted_counts": {c: int((pred_a == c).sum()) for c in FACE_LABELS},
    }


def evaluate(model: str, photos, mirror: bool, prior: str) -> tuple[list[str | None], list[float]]:
    """The largest face's label and confidence per photo, through edge's face channel (None: no face found)."""
    from edge.channels.face import FaceChannel
    from edge.config import Config

    cfg = Config()
    cfg.models.threads = 1
    cfg.models.face = model
    cfg.models.face_mirror = mirror
    cfg.models.face_prior = prior
    channel = FaceChannel.from_config(cfg)
    pred, conf = [], []
    for _, img, _ in photos:
        faces = channel.faces(img, {})
        pred.append(faces[0].emotion if faces else None)
        conf.append(faces[0].confidence if faces else 0.0)
    return pred, conf


def markdown(rep: dict) -> str:
    lines = [f"# Face models on {rep['settings']['images']} real photos (face-photos), end to end", "",
             f"Command: `{rep['command']}`", "",
             f"Started {rep['started']} on {rep['system']['cpu']}; detector {rep['settings']['detector']}, "
             "largest face, a photo without a face counts as wrong. face-photos is an evaluation set only.", "",
             "natural mix = per-class recall weighted neutral 0.50, happy 0.40, each other class 0.02. "
             "Rows run with models.face_prior = natural (the prior shift in the model's sidecar, if any) unless they say "
             "`prior training`; `+ mirror` averages each face with its mirror image (models.face_mirror).", "",
             "| model | balanced acc. | natural-mix acc. | accuracy | neutral read as angry | ECE | faces found | "
             + " | ".join(FACE_LABELS) + " (recall) |",
             "|---|---|---|---|---|---|---|" + "---|" * len(FACE_LABELS)]
    for name, r in rep["results"].items():
        lines.append(f"| {name} | {r['balanced_accuracy']:.3f} | {r['natural_mix_accuracy']:.3f} | {r['accuracy']:.3f} | "
                     f"{r['neutral_as_angry']:.3f} | {r['ece']:.3f} | {r['face_found_rate']:.3f} | "
                     + " | ".join(f"{r['recall'][c]:.2f}" for c in FACE_LABELS) + " |")
    lines += ["", "Per class: " + ", ".join(f"{c} {n}" for c, n in rep["settings"]["per_class"].items()) + " photos.",
              "", "Models:", "", *[f"- {k}: `{v['path']}` sha256 `{v['sha256']}`" for k, v in rep["models"].items()], "",
              "Versions: " + ", ".join(f"{k} {v}" for k, v in rep["versions"].items()), ""]
    return "\n".join(lines)


def zoo_copy(onnx: Path, tmp: Path) -> str:
    """The OpenCV Zoo model beside its sidecar description (edge/models/optional/) in `tmp`."""
    if not onnx.is_file():
        raise SystemExit(f"face_photos: {onnx} not found; see ../shared/models/README.md")
    dst = tmp / "opencv_zoo_fer_int8.onnx"
    shutil.copyfile(onnx, dst)
    shutil.copyfile(ZOO_SIDECAR, tmp / (dst.name + ".json"))
    return str(dst)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--photos", type=Path, default=PHOTOS, help="folder with labels.csv and images/")
    ap.add_argument("--models", nargs="+", default=["face", "face_large"],
                    help="bundled names (face, face_large) or model files with sidecars")
    ap.add_argument("--mirror", action="store_true", help="also run each model with models.face_mirror = true")
    ap.add_argument("--priors", nargs="+", default=["natural"], choices=("natural", "training"),
                    help="models.face_prior settings to run (a model without a prior shift in its sidecar runs once)")
    ap.add_argument("--zoo", type=Path, help="the OpenCV Zoo expression model (.onnx) to add to the table")
    ap.add_argument("--out", type=Path, help="write face_photos.json and face_photos.md into this folder")
    args = ap.parse_args(argv)

    photos = load_photos(args.photos, None)
    truth = [label for _, _, label in photos]
    started = datetime.now(timezone.utc).isoformat(timespec="seconds")
    from edge.paths import FACE_MODELS, MODELS_DIR

    results, models = {}, {}
    with tempfile.TemporaryDirectory() as tmp:
        runs = []
        for m in args.models:
            for mirror in ([False, True] if args.mirror else [False]):
                for prior in args.priors:
                    runs.append((m + (" + mirror" if mirror else "") + ("" if prior == "natural" else f", prior {prior}"),
                                 m, mirror, prior))
        if args.zoo:
            runs.append(("opencv_zoo_fer (RAF-DB)", zoo_copy(args.zoo, Path(tmp)), False, "natural"))
        for name, model, mirror, prior in runs:
            pred, conf = evaluate(model, photos, mirror, prior)
            results[name] = scores(pred, conf, truth)
            path = MODELS_DIR / (FACE_MODELS[model] + ".tflite") if model in FACE_MODELS else Path(model)
            shown = args.zoo if "opencv_zoo" in name else path
            models[name.split(" + ")[0].split(",")[0]] = {"path": str(shown), "sha256": sha256(path)}
            print(f"{name}: balanced {results[name]['balanced_accuracy']:.3f} natural {results[name]['natural_mix_accuracy']:.3f}",
                  flush=True)
    rep = {"command": shlex.join(["python", "benchmarks/face_photos.py", *(argv if argv is not None else sys.argv[1:])]),
           "started": started,
           "settings": {"images": len(photos), "detector": "blazeface (default config)", "natural_mix": NATURAL,
                        "per_class": {c: truth.count(c) for c in FACE_LABELS}},
           "results": results, "models": models, "versions": library_versions(), "system": system_info()}
    print(markdown(rep))
    if args.out:
        write_json_md(args.out, "face_photos", rep, markdown(rep))
    return 0


if __name__ == "__main__":
    sys.exit(main())
