"""Regenerate tests/data/face_golden.json: float32 reference probabilities on fixed FER2013 PrivateTest faces.

The golden file holds what should be stable on every CPU: the float model's probabilities. The int8 artifacts
are then tested against them (tests/test_face_golden.py), so a new CPU's int8 kernels are judged by how far
they move from the float model, not by how they break near-ties.

Usage (after a face model changes; review the diff):
    python tests/data/make_face_golden.py --float face=edge/models/face_float32.tflite \
        --float face_large=runs/golden/q/face_large_float32.tflite
where face_large's float32 file is v1's float weights, recovered and exported:
    edge-convert dequantize --tflite edge/models/face_large_int8.tflite --out runs/golden/face_large.keras
    edge-convert quantize --model runs/golden/face_large.keras --data ../shared/datasets/fer2013/fer2013.csv.gz \
        --out runs/golden/q --stem face_large --mirror-average --targets tflite-float32
Each `FAMILY=FILE` names the float32 twin of the shipped `edge/models/FAMILY_int8.*` files.
"""

import argparse
import json
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from edge.bench.datasets import read_fer2013  # noqa: E402
from edge.classify.model import Model  # noqa: E402
from edge.labels import FACE_LABELS  # noqa: E402
sys.path.insert(0, str(ROOT / "tests"))
from test_face_golden import prepared  # noqa: E402  the test's own preparation (alignment for aligned models)

CSV = ROOT.parent / "shared" / "datasets" / "fer2013" / "fer2013.csv.gz"
N = 200  # faces; PrivateTest positions drawn once with default_rng(2013)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--float", action="append", required=True, metavar="FAMILY=FILE")
    args = ap.parse_args()
    # PrivateTest's size read from the copy (3,573 rows since shared/ holds the original pixels, 3,589 before)
    n_private = len(read_fer2013(CSV, ("PrivateTest",))["PrivateTest"][1])
    positions = sorted(int(i) for i in np.random.default_rng(2013).choice(n_private, N, replace=False))
    x, y = read_fer2013(CSV, ("PrivateTest",), {"PrivateTest": set(positions)})["PrivateTest"]
    refs = {}
    for spec in args.float:
        family, path = spec.split("=", 1)
        model = Model(path)
        refs[family] = (Path(path).name, model.predict(prepared(x, model.description.preprocess)))
    rows = [{"private_test_position": pos, "true": FACE_LABELS[int(t)],
             "float32": {fam: [round(float(v), 4) for v in p[i]] for fam, (_, p) in refs.items()}}
            for i, (pos, t) in enumerate(zip(positions, y))]
    out = {"about": "float32 reference probabilities (FACE_LABELS order) of each face model family on "
                    f"{N} FER2013 PrivateTest faces; regenerate with tests/data/make_face_golden.py when a model changes",
           "labels": list(FACE_LABELS), "references": {fam: name for fam, (name, _) in refs.items()}, "rows": rows}
    head = json.dumps({k: v for k, v in out.items() if k != "rows"}, indent=1)[:-2]
    body = ",\n".join("  " + json.dumps(r) for r in rows)  # one face per line: reviewable diffs
    (Path(__file__).parent / "face_golden.json").write_text(f'{head},\n "rows": [\n{body}\n ]\n}}\n')


if __name__ == "__main__":
    main()
