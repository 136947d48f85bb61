"""Label sets of the project, in their one canonical order and spelling."""

from __future__ import annotations

import numpy as np

# FER2013 class order (its `emotion` column 0..6); every face model uses it.
FACE_LABELS = ("angry", "disgust", "fear", "happy", "sad", "surprise", "neutral")

# The expression mix of a room, as stated in issue 11 (not measured anywhere): mostly neutral and happy faces.
# Face models are calibrated towards it (convert/calibrate.py) and real-photo accuracy is re-weighted to it.
NATURAL_MIX = {"angry": 0.02, "disgust": 0.02, "fear": 0.02, "happy": 0.40, "sad": 0.02, "surprise": 0.02, "neutral": 0.50}

# Speech labels: Emo-DB's seven classes under the project's names.
VOICE_LABELS = ("angry", "bored", "disgust", "fear", "happy", "sad", "neutral")

# Emo-DB emotion letter (German initial) -> project label.
EMODB_LETTERS = {"W": "angry", "L": "bored", "E": "disgust", "A": "fear", "F": "happy", "T": "sad", "N": "neutral"}

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
