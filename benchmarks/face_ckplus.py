"""Face models on CK+48's posed lab faces (the rare classes real-photo sets lack), as cut-out 48x48 crops.

`../shared/datasets/ckplus48/<class>/S###_###_########.png`: 981 grey crops of 118 subjects, 7 classes (anger,
contempt, disgust, fear, happy, sadness, surprise; no neutral). `train-face --ckplus` may learn from the
even-numbered subjects (edge.bench.datasets.CKPLUS_HALVES); `--subjects test` (the default) reports on the
odd-numbered ones only, which nothing trains, tunes or selects on: a cross-domain evaluation set beside FER2013
PrivateTest and face-photos. Each crop goes through
edge.classify.face_preprocess.prepare_cut_faces (an aligned model's faces are aligned on BlazeFace's keypoints, as FER2013's are
in `edge-convert validate-face`), then the model through edge.classify.model.Model with the prior of `--prior` (the sidecar's
natural-mix shift, or none). Contempt has no face label: its crops are counted apart (what the model calls them).

    python benchmarks/face_ckplus.py --models face face_large --out benchmarks/reports
"""

from __future__ import annotations

import argparse
import shlex
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

from edge.bench.datasets import CKPLUS_HALVES, read_ckplus  # noqa: E402
from edge.bench.report import write_json_md  # noqa: E402
from edge.bench.system import sha256, system_info  # noqa: E402
from edge.labels import FACE_LABELS  # noqa: E402

CKPLUS = ROOT.parent / "shared" / "datasets" / "ckplus48"
def evaluate(model_name: str, faces: np.ndarray, prior: str) -> np.ndarray:
    from edge.classify.face import FaceClassifier
    from edge.paths import resolve_model
    from edge.classify.face_preprocess import pixels_to_input, prepare_cut_faces

    clf = FaceClassifier(resolve_model("face", model_name), prior=prior, threads=1)
    spec = clf.model.description.preprocess
    x = pixels_to_input(prepare_cut_faces(faces, spec), spec)
    return np.concatenate([clf.predict(x[i:i + 256]) for i in range(0, len(x), 256)])


def scores(probs: np.ndarray, truth: list[str | None]) -> dict:
    pred = np.array([FACE_LABELS[i] for i in probs.argmax(1)])
    t = np.array([x or "" for x in truth])
    recall = {c: float((pred[t == c] == c).mean()) for c in FACE_LABELS if (t == c).any()}
    labelled = t != ""
    return {"images": int(labelled.sum()), "accuracy": float((pred[labelled] == t[labelled]).mean()),
            "balanced_accuracy": float(np.mean(list(recall.values()))), "recall": recall,
            "contempt_read_as": {c: int((pred[t == ""] == c).sum()) for c in FACE_LABELS}}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=CKPLUS)
    ap.add_argument("--models", nargs="+", default=["face", "face_large"], help="bundled names or model files")
    ap.add_argument("--priors", nargs="+", default=["natural", "training"], choices=("natural", "training"))
    ap.add_argument("--subjects", choices=("all",) + CKPLUS_HALVES, default="test",
                    help="test: the odd-numbered subjects, which train-face --ckplus never sees (default); all: every crop")
    ap.add_argument("--out", type=Path, help="write face_ckplus.json and face_ckplus.md into this folder")
    args = ap.parse_args(argv)
    faces, truth, subjects = read_ckplus(args.data, None if args.subjects == "all" else args.subjects)
    from edge.paths import resolve_model

    results, models = {}, {}
    for name in args.models:
        path = resolve_model("face", name)
        models[name] = {"path": str(path.relative_to(ROOT) if path.is_relative_to(ROOT) else path),
                        "sha256": sha256(path)[:16]}
        for prior in args.priors:
            results[f"{name}, prior {prior}"] = scores(evaluate(name, faces, prior), truth)
    labels = [c for c in FACE_LABELS if c != "neutral"]
    command = "python benchmarks/face_ckplus.py " + shlex.join(argv if argv is not None else sys.argv[1:])
    lines = [f"# Face models on CK+48 ({sum(t is not None for t in truth)} posed crops of {len(set(subjects))} subjects "
             f"({args.subjects}), contempt apart)", "",
             f"Command: `{command}`", "", "No neutral class in CK+48. Balanced accuracy is the "
             "mean recall over the six classes present.", "",
             "| model | balanced acc. | accuracy | " + " | ".join(labels) + " (recall) |",
             "|---|---|---|" + "---|" * len(labels)]
    for name, r in results.items():
        lines.append(f"| {name} | {r['balanced_accuracy']:.3f} | {r['accuracy']:.3f} | " +
                     " | ".join(f"{r['recall'][c]:.2f}" for c in labels) + " |")
    lines += ["", "Contempt crops read as: " + "; ".join(
        f"{k}: " + ", ".join(f"{c} {n}" for c, n in r["contempt_read_as"].items() if n) for k, r in results.items()),
        "", "Models:", "", *[f"- {k}: `{v['path']}` sha256 `{v['sha256']}...`" for k, v in models.items()], ""]
    md = "\n".join(lines)
    print(md)
    if args.out:
        write_json_md(args.out, "face_ckplus", {"command": command, "system": system_info(), "models": models,
                                                "results": results}, md)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
