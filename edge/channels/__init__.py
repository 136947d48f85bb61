"""Modalities as channels: each one owns everything about its modality and turns its input into its part of the
result, every step. `preflight`, `infer` and the live loop loop over the channels and name none.

A channel (`base.Channel`) is one small class per modality, registered by name in CHANNELS (edge/registry.py):

- `name`: its key in fusion (`fusion.<name>_weight`) and in `fused.sources`.
- `stages`: the `timing_ms` keys it fills; `counters`: the counts it adds to the health report.
- `source_key`, `source(cfg)`: the config key of its input, and the input this config gives it (None: off).
- `check(cfg, spec)`: what check-config says about its part of the config; `task`: its model, `models.<task>`.
- `from_config(cfg)`: builds it once from its config sections (loads its model); `describe()`: what it runs.
- `absent(reason)`: its result fields when it is off or has nothing to say (`off_reason`, `no_input`).
- `open(stop, realtime, media_clock, broker)` / `close()`: start and join its own input: faces their video
  capture (`frames`: the loop steps by its frames), voice its AudioCapture, text its stdin or MQTT source.
- `step(frame, timing, until_s)` -> `Part`: its result fields, its vector over FUSED_LABELS for fusion (None:
  sits this step out), whether a new reading arrived (`fresh`) and whether input flowed (`progressed`).
- `infer_kinds`, `infer(item, kind, timing, options)`: the `infer` inputs it reads (images, videos, WAV files,
  texts) and its part of each one's result.

The live loop (`edge/pipeline.py`, and so `edge-bench pipeline`) builds every channel whose `source` is set,
steps them all each frame and fuses their vectors with `Fuser.from_config(cfg.fusion)`; `infer` uses the same
channels on whole files. The result JSON lists the channels' fields in the order of CHANNELS.

A new modality is one module here, one entry in CHANNELS, its config section and its `fusion.<name>_weight`
(tests/tick_channel.py is the smallest example, run by tests/test_channels.py; text is a real one:
edge/channels/text.py, [text], fusion.text_weight and text_max_age_s).
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
