"""The JSON result object, schema `edge-emotion/result/1` (documented in README.md, "Output")."""

from __future__ import annotations

import time
from typing import Any, Sequence

from .classify import FaceResult
from .fuse import Fused

SCHEMA = "edge-emotion/result/1"
# Pipeline stages reported in timing_ms, in data-flow order.
STAGES = ("capture", "detect", "preprocess", "classify", "audio_features", "audio_classify", "fuse", "publish")


def build(frame: int | None, faces: Sequence[FaceResult], face_labels: Sequence[str], audio: dict[str, Any] | None,
          audio_reason: str | None, fused: Fused, timing_ms: dict[str, float], ts: float | None = None,
          **extra: Any) -> dict[str, Any]:
    """One result as a plain dict, ready for json.dumps."""
    out: dict[str, Any] = {
        "schema": SCHEMA,
        "ts": round(time.time() if ts is None else ts, 3),
        "frame": frame,
        "faces": [f.to_dict(face_labels) for f in faces],
        "audio": audio,
    }
    if audio is None:
        out["audio_reason"] = audio_reason
    out["fused"] = fused.to_dict()
    out["timing_ms"] = {k: round(v, 3) for k, v in timing_ms.items()}
    out.update(extra)
    return out


def error(input_path: str, reason: str) -> dict[str, Any]:
    """The line `infer` prints for an input it could not read."""
    return {"schema": SCHEMA, "ts": round(time.time(), 3), "input": input_path, "error": reason}
