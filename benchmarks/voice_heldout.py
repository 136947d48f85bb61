"""A voice model file on every file of one corpus through edge/ (VoiceClassifier.classify, cold start, as `infer`).

    python benchmarks/voice_heldout.py --corpus nemo [--model edge/models/voice_int8.tflite] [--out FILE.json]

For a model that never trained on the corpus (v2 and nEMO) this is a held-out figure; for one that did, it only
checks the file. Prints UAR over the corpus's scored classes (voice_eval.CORPUS_CLASSES), per-class recall, how
often neutral is answered against how often it is true, and the answers on the unscored classes.
"""

from __future__ import annotations

import os

for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[var] = "1"

import argparse  # noqa: E402
import json  # noqa: E402
import sys  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from convert import DATASETS  # noqa: E402
from convert.voice.corpora import load_audio, load_emodb, load_nemo, load_ravdess  # noqa: E402
from convert.voice.evaluate import NO_ANSWER, corpus_scores, other_labels  # noqa: E402
from edge.classify.voice import VoiceClassifier  # noqa: E402
from edge.paths import MODELS_DIR  # noqa: E402

LOADERS = {"emodb": lambda: load_emodb(DATASETS / "emodb"), "ravdess": lambda: load_ravdess(DATASETS / "ravdess"),
           "nemo": lambda: load_nemo(DATASETS / "nemo")}


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--corpus", choices=sorted(LOADERS), default="nemo")
    p.add_argument("--model", type=Path, default=MODELS_DIR / "voice_int8.tflite")
    p.add_argument("--out", type=Path, help="write the scores here as JSON")
    a = p.parse_args()
    utts = LOADERS[a.corpus]()
    clf = VoiceClassifier(a.model)
    pred = np.full(len(utts), NO_ANSWER)
    for i, u in enumerate(utts):
        r = clf.classify(load_audio(u.path, 16000), 16000)
        if r.emotion is not None:
            pred[i] = clf.labels.index(r.emotion)
    s = corpus_scores(utts, pred, tuple(clf.labels))[a.corpus]
    out = {"command": "python benchmarks/voice_heldout.py " + " ".join(sys.argv[1:]), "model": str(a.model),
           "scores": s, "other_labels": other_labels(utts, pred, tuple(clf.labels))}
    print(f"{a.corpus}: UAR {100 * s['uar']:.2f} %, neutral answered / true {s['neutral_ratio']:.2f}, no answer "
          f"{s['no_answer']} of {s['n']}; recall " + ", ".join(f"{k} {100 * v:.1f}" for k, v in s["recall"].items()))
    print("unscored classes:", out["other_labels"])
    if a.out:
        a.out.write_text(json.dumps(out, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
