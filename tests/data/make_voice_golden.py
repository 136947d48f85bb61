"""Regenerate tests/data/voice_golden.json from the shipped voice model (run after retraining, review the diff).

Usage: python tests/data/make_voice_golden.py
"""

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from edge.classify.voice import VoiceClassifier  # noqa: E402
from edge.paths import MODELS_DIR  # noqa: E402

# Two files per emotion-rich speaker pair, all seven emotions, male and female voices.
FILES = ["03a01Wa", "03a04Ta", "08a02Fe", "09b03Lb", "11a01Nd", "12b01Ta", "13a07Fd", "15a05Eb", "16b10Tb", "08a02Ab"]
EMODB = ROOT.parent / "shared" / "datasets" / "emodb" / "wav"


def main() -> None:
    clf = VoiceClassifier(MODELS_DIR / "voice_int8.tflite")
    rows = []
    for name in FILES:
        clf.norm.reset()  # each file judged alone: the running statistics start from the prior
        r = clf.classify_file(EMODB / f"{name}.wav")
        rows.append({"file": f"{name}.wav", "emotion": r.emotion, "probs": [round(float(p), 4) for p in r.probs]})
    out = {"model": "edge/models/voice_int8.tflite", "labels": list(clf.labels), "rows": rows,
           "note": "expected outputs of the shipped int8 model, each file classified with a fresh RunningNorm"}
    (Path(__file__).parent / "voice_golden.json").write_text(json.dumps(out, indent=1) + "\n")


if __name__ == "__main__":
    main()
