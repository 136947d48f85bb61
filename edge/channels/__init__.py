"""Modalities as channels: each one turns its input into its part of the result, every step.

A channel (`base.Channel`) is one small class per modality, registered below by name:

- `name`: its key in fusion (`fusion.<name>_weight`) and in `fused.sources`.
- `stages`: the `timing_ms` keys it fills; `counters`: the counts it adds to the health report.
- `source(cfg)`: the input this config gives it, None to turn it off.
- `from_config(cfg)`: builds it once from its config sections (loads its model).
- `absent(reason)`: its result fields when it is off or has nothing to say.
- `open(stop, realtime, media_clock)` / `close()`: start and join its own input, if it has one (faces use the
  loop's frames; voice its AudioCapture; text its stdin or MQTT source).
- `step(frame, timing, until_s)` -> `Part`: its result fields, its vector over FUSED_LABELS for fusion (None:
  sits this step out), whether a new reading arrived (`fresh`) and whether input flowed (`progressed`).

The live loop (`edge/pipeline.py`, and so `edge-bench pipeline`) builds every channel whose `source` is set,
steps them all each frame and fuses their vectors with `Fuser.from_config(cfg.fusion)`; `infer` uses the same
channels on whole files. The result JSON lists the channels' fields in the order of CHANNELS.

A new modality is one module here, one entry in CHANNELS (edge/registry.py), its config section and its `fusion.<name>_weight`
(text is the example: edge/channels/text.py, [text], fusion.text_weight and text_max_age_s).
"""

from __future__ import annotations

from ..registry import CHANNELS, load
from .base import Channel, Part

__all__ = ["CHANNELS", "Channel", "Part", "channel_class", "channel_classes"]


def channel_class(name: str) -> type[Channel]:
    if name not in CHANNELS:
        raise ValueError(f"unknown channel {name!r}; choose one of {', '.join(CHANNELS)}")
    return load(CHANNELS, name, "channel", RuntimeError)


def channel_classes() -> list[type[Channel]]:
    """Every registered channel class, in result order."""
    return [channel_class(name) for name in CHANNELS]
