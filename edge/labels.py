"""Label sets of the project, in their one canonical order and spelling."""

from __future__ import annotations

import numpy as np

# FER2013 class order (its `emotion` column 0..6); every face model uses it.
FACE_LABELS = ("angry", "disgust", "fear", "happy", "sad", "surprise", "neutral")

# The expression mix of a room, as stated in issue 11 (not measured anywhere): mostly neutral and happy faces.
# Face models are calibrated towards it (convert/face/calibrate.py) and real-photo accuracy is re-weighted to it.
NATURAL_MIX = {"angry": 0.02, "disgust": 0.02, "fear": 0.02, "happy": 0.40, "sad": 0.02, "surprise": 0.02, "neutral": 0.50}

# Speech labels: the six both voice corpora share, plus Emo-DB's boredom, in FUSED_LABELS order
# (`edge-convert train-voice` orders a model's labels so).
VOICE_LABELS = ("angry", "disgust", "fear", "happy", "sad", "neutral", "bored")

# Emo-DB emotion letter (German initial) -> corpus emotion name.
EMODB_LETTERS = {"W": "angry", "L": "bored", "E": "disgust", "A": "fear", "F": "happy", "T": "sad", "N": "neutral"}

# Corpus emotion -> voice label the model is trained on; None: not trained on. RAVDESS's calm is acted as a
# distinct, low-arousal state: taken as neutral it cost 3-4 points of RAVDESS UAR (VOICE_MODEL_CARD.md).
# Surprised exists in RAVDESS only: as a voice label it took 2.6 points of 6-class UAR from happy and fear files,
# so surprise stays a face-only label, and fusion does not count the voice against it (edge/fuse/fusion.py).
VOICE_SOURCE_MAP = {"angry": "angry", "bored": "bored", "disgust": "disgust", "fear": "fear", "happy": "happy",
                    "sad": "sad", "neutral": "neutral", "calm": None, "surprise": None}

# Fusion works over the union of both sets; face labels first, so a face-only
# result reads the same as the face model's own output.
FUSED_LABELS = FACE_LABELS + ("bored",)


class LabelledProbs:
    """`emotion` and `confidence` of a result that holds `probs` (None when it gives no emotion) over `labels`."""

    @property
    def emotion(self) -> str | None:
        return None if self.probs is None else self.labels[int(np.argmax(self.probs))]

    @property
    def confidence(self) -> float:
        return 0.0 if self.probs is None else float(np.max(self.probs))
