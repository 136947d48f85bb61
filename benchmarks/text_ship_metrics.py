"""The `metrics` of a text model's sidecars, from its validate-text report and train-text summary.

    python benchmarks/text_ship_metrics.py --report runs/text_v2a_nt/report/text_validation.json \
        --summary runs/text_v2a_nt/summary.json --out runs/text_v2a_nt/metrics.json

then `edge-convert quantize --task text ... --metrics runs/text_v2a_nt/metrics.json`. Only measured figures are
written, each rounded to 4 places, with the command that measured them.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path


def metrics(report: dict, summary: dict) -> dict:
    rows = {r["file"]: r for r in report["rows"]}
    out: dict = {}
    for name, key in (("text_int8.tflite", "int8_tflite"), ("text_int8.onnx", "int8_onnx")):
        r = rows.get(name)
        if r is None:
            continue
        out[f"goemotions_test_macro_f1_{key}"] = round(r["test"]["macro_f1"], 4)
        out[f"goemotions_test_accuracy_single_label_{key}"] = round(r["test"]["accuracy_single"], 4)
        if r.get("meld_dev"):
            out[f"meld_dev_uar_{key}"] = round(r["meld_dev"]["uar"], 4)
            out[f"meld_dev_weighted_f1_{key}"] = round(r["meld_dev"]["weighted_f1"], 4)
        own = r["own"]
        out[f"own_sentences_accuracy_{key}"] = round(own["accuracy_single"], 4)
        out[f"own_sentences_right_{key}"] = f"{round(own['accuracy_single'] * own['n_single'])} of {own['n_single']}"
    out["goemotions_test_macro_f1_keras_float"] = round(summary["test_keras_float"]["macro_f1"], 4)
    out["goemotions_dev_macro_f1_keras_float"] = round(summary["dev"]["macro_f1"], 4)
    out["metric"] = ("GoEmotions: macro-F1 over the 7 face labels of the arg-max label against each comment's grouped "
                     "labels; MELD dev: UAR (mean recall over the 7 labels) and support-weighted F1; own sentences: "
                     "benchmarks/data/own_sentences.tsv, accuracy (edge-convert validate-text)")
    out["command"] = report["command"]
    return out


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--report", type=Path, required=True, help="validate-text's JSON report")
    p.add_argument("--summary", type=Path, required=True, help="train-text's summary.json")
    p.add_argument("--out", type=Path, required=True)
    a = p.parse_args()
    m = metrics(json.loads(a.report.read_text()), json.loads(a.summary.read_text()))
    a.out.write_text(json.dumps(m, indent=2) + "\n")
    print(json.dumps(m, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
