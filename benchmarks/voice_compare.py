"""Side by side: per-corpus UAR, per-class recall and neutral over-prediction of several `train-voice` cv.json files.

    python benchmarks/voice_compare.py runs/a/cv.json runs/b/cv.json [--model float|tflite-int8] [--out report.md]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

CORPORA = ("ravdess", "emodb", "nemo")


def table(paths: list[Path], model: str) -> str:
    cvs = [(p, json.loads(p.read_text())) for p in paths]
    lines = ["| run | command | " + " | ".join(f"{c} UAR %" for c in CORPORA) + " | neutral answered / true "
             "(R / E / N) |", "|---" * (len(CORPORA) + 3) + "|"]
    for p, cv in cvs:
        clean = cv["conditions"]["clean"][model]
        uar = " | ".join(f"{100 * clean[c]['uar']:.2f}" if c in clean else "-" for c in CORPORA)
        ratio = " / ".join(f"{clean[c]['neutral_ratio']:.2f}" if clean.get(c, {}).get("neutral_ratio") is not None
                           else "-" for c in CORPORA)
        lines.append(f"| {p.parent.name} | `{cv.get('command', '')}` | {uar} | {ratio} |")
    lines += ["", "Per-class recall %:", ""]
    for c in CORPORA:
        classes = next((list(cv["conditions"]["clean"][model][c]["recall"]) for _, cv in cvs
                        if c in cv["conditions"]["clean"][model]), None)
        if not classes:
            continue
        lines += [f"| {c} run | " + " | ".join(classes) + " |", "|---" * (len(classes) + 1) + "|"]
        for p, cv in cvs:
            rec = cv["conditions"]["clean"][model].get(c, {}).get("recall", {})
            lines.append(f"| {p.parent.name} | " + " | ".join(f"{100 * rec[k]:.1f}" if k in rec else "-"
                                                               for k in classes) + " |")
        lines.append("")
    for p, cv in cvs:
        if cv.get("other_labels"):
            lines.append(f"{p.parent.name}, files outside the scored classes: " + "; ".join(
                f"{k}: " + ", ".join(f"{a} {n}" for a, n in v.items() if n) for k, v in cv["other_labels"].items()))
    return "\n".join(lines) + "\n"


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("cv", nargs="+", type=Path)
    p.add_argument("--model", default=None, help="float, tflite-int8 or onnx-int8 (default: int8 TFLite if present)")
    p.add_argument("--out", type=Path, help="also write the table here")
    a = p.parse_args()
    model = a.model or ("tflite-int8" if all("tflite-int8" in json.loads(c.read_text())["conditions"]["clean"]
                                             for c in a.cv) else "float")
    command = "python benchmarks/voice_compare.py " + " ".join(sys.argv[1:])
    text = f"Model: {model}; command: `{command}`\n\n" + table(a.cv, model)
    print(text)
    if a.out:
        a.out.write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
