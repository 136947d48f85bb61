"""A fourth modality for the tests, as small as one can be: every step it says one configured emotion.

It is what issue 23 asks a new modality to be: this module (one Channel class), its config section ([tick]) and its
fusion weight (fusion.tick_weight), plus one registry entry; `tests/test_channels.py` registers it and runs
check-config's checks, the live loop and `infer` with it, none of which names a modality.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from edge import config
from edge.channels.base import Channel, Inferred, Part
from edge.config import opt
from edge.fuse.fusion import to_fused
from edge.labels import FUSED_LABELS

TICKS = 3  # the input ends after this many steps, as a file would


@dataclass
class TickConfig:
    source: str = opt("none", "'on' or 'none'")
    emotion: str = opt("happy", "the emotion every tick says")


@dataclass
class TickFusionConfig(config.FusionConfig):
    tick_weight: float = opt(0.4, "weight of the tick", min=0, max=1000)


@dataclass
class TickConfigFile(config.Config):
    """The config with the new section and the new weight."""

    tick: TickConfig = field(default_factory=TickConfig)
    fusion: TickFusionConfig = field(default_factory=TickFusionConfig)


class TickChannel(Channel):
    name = "tick"
    counters = ("ticks",)
    source_key = "tick.source"
    infer_kinds = frozenset({"text"})  # it has something to say about every sentence
    no_input = "no tick input"
    off_reason = "tick off"

    def __init__(self, emotion: str) -> None:
        self.emotion, self.ticks = emotion, 0

    @classmethod
    def source(cls, cfg) -> str | None:
        return None if cfg.tick.source == "none" else cfg.tick.source

    @classmethod
    def check(cls, cfg, spec: str) -> list[str]:
        e = cfg.tick.emotion
        return [] if e in FUSED_LABELS else [f"tick.emotion = {e!r}: not one of {', '.join(FUSED_LABELS)}"]

    @classmethod
    def from_config(cls, cfg) -> "TickChannel":
        return cls(cfg.tick.emotion)

    @classmethod
    def absent(cls, reason: str) -> Part:
        return Part({"tick": None, "tick_reason": reason})

    def _part(self, **fields) -> Part:
        return Part({"tick": {"emotion": self.emotion, **fields}}, to_fused([1.0], (self.emotion,)), fresh=True,
                    progressed=True)

    def step(self, frame, timing: dict[str, float], until_s: float | None = None) -> Part:
        self.ticks += 1
        self.ended = self.ticks >= TICKS
        return self._part(n=self.ticks)

    def infer(self, item, kind, timing: dict[str, float], options) -> Inferred:
        return Inferred(self._part(chars=len(item)))

    def stats(self) -> dict[str, int]:
        return {"ticks": self.ticks}
