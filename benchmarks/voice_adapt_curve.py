"""Running normalisation (`audio.adapt`) as a curve: accuracy after 0, 1-4, 5-9, 10-19 and 20+ utterances of one voice.

    python benchmarks/voice_adapt_curve.py --cv runs/voice_v3_cv --front both [--orders 10] [--out FILE]

Reads a finished cross-validation (`edge-convert train-voice ... --out DIR`: DIR/folds/<fold>/voice_int8.tflite,
written with the fold's name listing its held-out speakers) and the feature cache it used, and replays every
held-out speaker's files in `--orders` random orders through the fold's int8 model, as the device would with
`audio.adapt = true` (edge.audio.normalise.RunningNorm from the model's description: update with the utterance,
then normalise it). Each file is also judged cold (never updated: the shipped default). For every bin of
"utterances of this voice heard before", it prints UAR adapted and cold on the same files, per corpus, and each
class's recall change; issue 25 asks every class to stay within 10 points of cold start and adaptation to be on
by default only where it wins on every corpus. Files the gate turns away are left out of both.
"""

from __future__ import annotations

import os

for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "TF_NUM_INTRAOP_THREADS"):
    os.environ[var] = "1"

import argparse  # noqa: E402
import json  # noqa: E402
import sys  # noqa: E402
from dataclasses import asdict  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from convert import DATASETS  # noqa: E402
from convert.voice.corpora import load_corpora  # noqa: E402
from convert.voice.evaluate import CORPUS_CLASSES, folds  # noqa: E402
from convert.voice.features import gate_reason  # noqa: E402
from convert.voice.train import FrontCache  # noqa: E402
from edge.audio.gate import GateSettings  # noqa: E402
from edge.audio.normalise import RunningNorm  # noqa: E402
from edge.labels import VOICE_SOURCE_MAP  # noqa: E402
from edge.classify.model import Model  # noqa: E402

BINS = ((0, 1), (1, 5), (5, 10), (10, 20), (20, 10 ** 6))  # utterances of the voice heard before this one


def bin_name(lo: int, hi: int) -> str:
    return str(lo) if hi == lo + 1 else (f"{lo}+" if hi > 10 ** 5 else f"{lo}-{hi - 1}")


def recall(truth: np.ndarray, pred: np.ndarray, classes: tuple[str, ...], labels: tuple[str, ...]) -> dict:
    return {c: float(np.mean(pred[truth == c] == labels.index(c))) if (truth == c).any() else float("nan")
            for c in classes}


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--cv", type=Path, required=True, help="output folder of a cross-validation (holds folds/)")
    p.add_argument("--front", choices=("functionals", "embedding", "both"), required=True,
                   help="the model input the cross-validation was run with (its cv.json says: 'front')")
    p.add_argument("--cache", type=Path, default=Path("runs/vcache"), help="its feature cache")
    p.add_argument("--orders", type=int, default=10, help="random utterance orders per held-out speaker")
    p.add_argument("--prior-count", type=float, help="override the description's prior weight (utterances)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", type=Path, help="write the curve here as JSON")
    a = p.parse_args()

    mapping = dict(VOICE_SOURCE_MAP)
    utts, _ = load_corpora(DATASETS / "emodb", DATASETS / "ravdess", mapping, nemo=DATASETS / "nemo")
    cache = FrontCache(a.cache, a.front)
    feats = cache.features(utts, "clean", 0)
    refused = cache.gate(utts, "clean", 0, gate_reason, asdict(GateSettings()))
    speakers = np.array([u.speaker for u in utts])
    truth = np.array([u.label for u in utts])
    corpus = np.array([u.corpus for u in utts])
    # rows: (order, file index, position among the speaker's files, cold prediction, adapted prediction)
    rows = []
    labels: tuple[str, ...] = ()
    for name, te in folds(utts):
        folder = a.cv / "folds" / name
        model = Model(folder / "voice_int8.tflite")
        labels = tuple(model.labels)
        desc = dict(model.description.raw["preprocess"]["norm"])
        if a.prior_count is not None:
            desc["prior_count"] = a.prior_count
        cold_norm = RunningNorm.from_description(desc)
        heard = np.array([i for i in te if refused[i] is None], np.int64)
        cold = {int(i): int(np.argmax(model.predict(cold_norm.apply(feats[i])).mean(axis=0))) for i in heard}
        for o in range(a.orders):
            rng = np.random.default_rng(a.seed * 1000 + o)
            for s in np.unique(speakers[heard]):
                norm = RunningNorm.from_description(desc)
                for pos, i in enumerate(rng.permutation(heard[speakers[heard] == s])):
                    norm.update(feats[i].mean(axis=0))
                    adapted = int(np.argmax(model.predict(norm.apply(feats[i])).mean(axis=0)))
                    rows.append((o, int(i), pos, cold[int(i)], adapted))
        print(f"{name}: {len(heard)} files replayed", file=sys.stderr)
    r = np.array(rows)
    out = {"command": "python benchmarks/voice_adapt_curve.py " + " ".join(sys.argv[1:]), "bins": {}}
    print(f"| corpus | heard before | files x orders | UAR cold | UAR adapted | change | worst class change |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for c, classes in CORPUS_CLASSES.items():
        for lo, hi in BINS:
            m = (corpus[r[:, 1]] == c) & np.isin(truth[r[:, 1]], classes) & (r[:, 2] >= lo) & (r[:, 2] < hi)
            if not m.any():
                continue
            t = truth[r[m, 1]]
            rc, ra = recall(t, r[m, 3], classes, labels), recall(t, r[m, 4], classes, labels)
            uc, ua = float(np.nanmean(list(rc.values()))), float(np.nanmean(list(ra.values())))
            delta = {k: ra[k] - rc[k] for k in classes}
            worst = min(delta, key=lambda k: delta[k] if np.isfinite(delta[k]) else 0.0)
            out["bins"].setdefault(c, {})[bin_name(lo, hi)] = {"n": int(m.sum()), "uar_cold": uc, "uar_adapted": ua,
                                                                "recall_cold": rc, "recall_adapted": ra}
            print(f"| {c} | {bin_name(lo, hi)} | {int(m.sum())} | {100 * uc:.1f} | {100 * ua:.1f} | "
                  f"{100 * (ua - uc):+.1f} | {worst} {100 * delta[worst]:+.1f} |")
    if a.out:
        a.out.write_text(json.dumps(out, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
