"""The JSON result object, schema `edge-emotion/result/1` (documented in README.md, "Output")."""

from __future__ import annotations

import time
from typing import Any, Sequence

from .channels import Part, channel_classes
from .fuse.fusion import Fused

SCHEMA = "edge-emotion/result/1"
# Pipeline stages reported in timing_ms, in data-flow order: capture, each channel's own stages, fuse, publish.
STAGES = ("capture",) + tuple(s for c in channel_classes() for s in c.stages) + ("fuse", "publish")


def build(frame: int | None, parts: Sequence[Part], fused: Fused, timing_ms: dict[str, float],
          ts: float | None = None, **extra: Any) -> dict[str, Any]:
    """One result as a plain dict, ready for json.dumps; `parts` holds every channel's Part, in CHANNELS order."""
    out: dict[str, Any] = {
        "schema": SCHEMA,
        "ts": round(time.time() if ts is None else ts, 3),
        "frame": frame,
    }
    for part in parts:
        out.update(part.fields)
    out["fused"] = fused.to_dict()
    out["timing_ms"] = {k: round(v, 3) for k, v in timing_ms.items()}
    out.update(extra)
    return out


def error(input_path: str, reason: str) -> dict[str, Any]:
    """The line `infer` prints for an input it could not read."""
    return {"schema": SCHEMA, "ts": round(time.time(), 3), "input": input_path, "error": reason}
