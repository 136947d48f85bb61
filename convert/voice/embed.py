"""The speech-embedding front end for training: edge/audio/embedding.py on the shared model files, cached like the
functionals (data.FeatureCache)."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import numpy as np

from edge.audio.embedding import EMBED_SET, EmbeddingSpec, SpeechEmbedding

from .. import DATASETS
from . import features

MODELS = DATASETS.parent / "models" / "speech-embedding"
# The shared folder names the files as openWakeWord does; edge/models names them by EmbeddingSpec.
SHARED_NAMES = {"speech_embedding_mel": "melspectrogram", "speech_embedding": "embedding_model"}


@lru_cache(maxsize=1)
def embedder(spec: EmbeddingSpec = EmbeddingSpec()) -> SpeechEmbedding:
    """The embedding models from ../shared/models/speech-embedding through onnxruntime (one thread)."""
    import tempfile
    from pathlib import Path

    folder = Path(tempfile.mkdtemp(prefix="speech-embedding-"))
    for stem, shared in SHARED_NAMES.items():
        (folder / f"{stem}.onnx").symlink_to(MODELS / f"{shared}.onnx")
    return SpeechEmbedding(folder, spec, backend="onnxruntime")


def embedding_params(spec: EmbeddingSpec = EmbeddingSpec()) -> dict[str, Any]:
    """Everything the cached embeddings depend on (the functionals' windows and level included)."""
    return {"embed_set": EMBED_SET, "embedding": spec.to_dict(), **features.feature_params()}


def extract_embedding(x: np.ndarray) -> np.ndarray:
    """16 kHz audio -> (windows, 192), the windows of features.extract."""
    return embedder().windows(x, features.WINDOW_S, features.HOP_S, features.TRIM_BELOW_PEAK_DB,
                              level_db=features.LEVEL_DB)
