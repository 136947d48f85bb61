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


@dataclass(frozen=True)
class Inferred:
    """A channel's share of one `infer` result."""

    part: Part
    frame: int | None = None  # the frame the result shows (a video's best-detected one)
    extra: dict[str, Any] = field(default_factory=dict)  # result keys after `input` (a video's frames and timeline)
    warnings: tuple[str, ...] = ()  # what `infer` logs about the input (a truncated JPEG), one line each


@dataclass(frozen=True)
class InferOptions:
    """`infer`'s flags (`--crop`, `--sample-fps`)."""

    crop: bool = False  # images are already-cropped faces
    sample_fps: float = 5.0  # frames per second analysed in videos


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
    source_key: ClassVar[str] = ""  # the config key of its input ("video.source"), for errors that name it
    task: ClassVar[str] = ""  # its model is `models.<task>`, checked against its sidecar before start; "": none
    infer_kinds: ClassVar[frozenset] = frozenset()  # `infer` inputs it reads: edge.capture.probe kinds, or "text"
    no_input: ClassVar[str] = ""  # the reason `absent` gives for an `infer` input of another kind
    off_reason: ClassVar[str] = "off"  # the reason `absent` gives when the config turns the channel off
    frames: ClassVar[bool] = False  # its input is frames the loop steps by (its `capture`, once open)
    ended = False  # its input finished (a file); live inputs never end
    capture: Any = None  # a `frames` channel's frame capture (edge.capture.video.VideoCapture), once open

    @classmethod
    def source(cls, cfg) -> str | None:
        """The input this config gives the channel; None turns it off."""
        raise NotImplementedError

    @classmethod
    def check(cls, cfg, spec: str) -> list[str]:
        """What is wrong with its part of the config for input `spec` (a file that must exist and decode, rules
        between its keys), each problem naming its key; its model is checked from `task`."""
        return []

    @classmethod
    def from_config(cls, cfg) -> "Channel":
        """Load the model and everything else expensive, once."""
        raise NotImplementedError

    def describe(self) -> list[str]:
        """What it runs, for the start-up log line: its model file and backend."""
        model = getattr(getattr(self, "classifier", None), "model", None)
        return [f"{self.name}: {model.path.name} ({model.backend.name})"] if model is not None else []

    def infer(self, item, kind, timing: dict[str, float], options: InferOptions) -> Inferred:
        """One `infer` input whose kind (edge.capture.probe.FileKind) is in `infer_kinds`: a file path, or for kind
        "text" a string (bytes: a command-line argument that is not UTF-8). ValueError fails the input with its
        reason."""
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
