"""What the voice model sees: windows of edge/audio/features.py's functionals at one speech level, and the gate.

Shared by the training command, the cross-validation and the speech-embedding front end, so none of them
imports another for these numbers (they used to come from the training command, an import loop).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from edge.audio.features import FEATURE_SET, VOICE_FEATURES, utterance_windows
from edge.audio.gate import GateSettings, gate_segment

# The model sees functionals over at most 2 s of speech (every Emo-DB file in our copy is 2.0 s, RAVDESS
# sentences hold 1.5-2.5 s of speech); windows hop by 0.5 s over longer speech, the utterance averages them.
WINDOW_S, HOP_S = 2.0, 0.5
TRIM_BELOW_PEAK_DB = 40.0  # edge frames 40 dB under the loudest are pauses or zero padding
LEVEL_DB = -26.0  # every utterance is scaled to this active speech level before the features (ITU-T P.56's nominal)


def feature_params() -> dict[str, Any]:
    """Everything the cached features depend on."""
    return {"feature_set": FEATURE_SET, "spec": VOICE_FEATURES.to_dict(), "window_s": WINDOW_S, "hop_s": HOP_S,
            "trim_below_peak_db": TRIM_BELOW_PEAK_DB, "level_db": LEVEL_DB}


def extract(x: np.ndarray) -> np.ndarray:
    """16 kHz audio -> (windows, features), exactly as VoiceClassifier.window_features computes them."""
    return utterance_windows(x, WINDOW_S, HOP_S, TRIM_BELOW_PEAK_DB, level_db=LEVEL_DB)


def gate_reason(x: np.ndarray, settings: GateSettings = GateSettings()) -> str | None:
    """The device gate's verdict on a whole file (VoiceClassifier.classify's first step)."""
    return gate_segment(x, 16000, settings).reason
