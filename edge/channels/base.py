"""What every channel shares: the Part it adds to a result each step, and the small interface the loop calls."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np


@dataclass(frozen=True)
class Part:
    """One channel's share of one result."""

    fields: dict[str, Any]  # its keys of the result JSON, in order (face: `faces`; voice: `audio`, `audio_reason`)
    vector: np.ndarray | None = None  # edge.fuse.fusion.to_fused: FUSED_LABELS + its own, NaN where no label; None: sits out
    fresh: bool = False  # a new reading arrived in this step (loops without video publish only then)
    progressed: bool = False  # input flowed in this step (the loop is alive: systemd watchdog, readiness)
    value: Any = field(default=None, compare=False)  # the channel's own results (list of FaceResult, VoiceResult)
    events: tuple = ()  # events of this step (tracked faces: new / update / end), published on the `events` topic
    subject: Any = None  # who `vector` is about (the followed face's track id); fusion restarts when it changes


def model_options(models) -> dict[str, Any]:
    """Backend, threads and providers of the [models] section, as every classifier takes them."""
    return {"backend": None if models.backend == "auto" else models.backend, "threads": models.threads,
            "providers": models.providers}


def gate_options(audio) -> dict[str, Any]:
    """The speech gate of the [audio] section, as the voice classifier takes it: `run`, `infer` and
    `edge-bench --accuracy` all build theirs with it, so a file gets the verdict the live loop would give."""
    from ..audio.gate import GateSettings

    return {"gate": GateSettings.from_config(audio), "adapt": bool(audio.adapt)}


class Channel:
    """One modality: built once from the config, then turns its input into its Part every step.

    `name` is the channel's key in fusion (`fusion.<name>_weight`) and in `fused.sources`;
    `stages` are the `timing_ms` keys it fills; `counters` the health-report counts it keeps.
    """

    name: ClassVar[str] = ""
    stages: ClassVar[tuple[str, ...]] = ()
    counters: ClassVar[tuple[str, ...]] = ()
    off_reason: ClassVar[str] = "off"  # the reason `absent` gives when the config turns the channel off
    ended = False  # its input finished (a file); live inputs never end

    @classmethod
    def source(cls, cfg) -> str | None:
        """The input this config gives the channel; None turns it off."""
        raise NotImplementedError

    @classmethod
    def from_config(cls, cfg) -> "Channel":
        """Load the model and everything else expensive, once."""
        raise NotImplementedError

    @classmethod
    def absent(cls, reason: str) -> Part:
        """The channel's fields when it has nothing to say (off, no input, stale), with the reason where it has one."""
        raise NotImplementedError

    def open(self, stop: threading.Event, realtime: bool, media_clock: bool = False, broker=None) -> None:
        """Start the channel's own input, if it has one (video frames come from the loop).

        `media_clock`: the frames come from a video file, so a file input follows the frames' position
        (`until_s` and `frame.loop` in `step`) instead of the wall clock. `broker`: the connection results are
        published on (edge.mqtt.connection.MqttConnection), for an input from the same broker; None without one."""

    def step(self, frame, timing: dict[str, float], until_s: float | None = None) -> Part:
        """This step's Part. `frame` is the loop's video frame (or None); `until_s`: with a video file, the media
        position the channel's input advances to, so that it stays in step with the video."""
        raise NotImplementedError

    def stats(self) -> dict[str, int]:
        return {k: 0 for k in self.counters}

    def finish(self, ts: float) -> list[dict]:
        """Events still due when the loop stops at wall-clock `ts` (the face channel ends its open tracks)."""
        return []

    def close(self, timeout: float = 1.0) -> None:
        """Stop and join the channel's own input."""
