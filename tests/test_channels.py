"""The channel layer: registry, the fields each channel gives when off, and the loop building only what is on."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from edge import config
from edge.channels import CHANNELS, channel_class, channel_classes
from edge.labels import FUSED_LABELS
from edge.pipeline import Pipeline
from edge.publish.base import Publisher
from edge.result import STAGES


class Recorder(Publisher):
    name = "recorder"

    def __init__(self) -> None:
        self.results = []

    def publish(self, result):
        self.results.append(result)

    def publish_stats(self, stats):
        pass


def test_registry_lists_each_channel_once_with_its_own_stages():
    classes = channel_classes()
    assert [c.name for c in classes] == list(CHANNELS)
    stages = [s for c in classes for s in c.stages]
    assert len(stages) == len(set(stages))
    assert STAGES == ("capture", *stages, "fuse", "publish")


def test_a_channel_turned_off_gives_its_fields_with_the_reason():
    assert channel_class("face").absent("off").fields == {"faces": []}
    voice = channel_class("voice").absent(channel_class("voice").off_reason)
    assert voice.fields == {"audio": None, "audio_reason": "audio off"} and voice.vector is None
    text = channel_class("text").absent(channel_class("text").off_reason)
    assert text.fields == {"text": None, "text_reason": "text off"} and text.vector is None


def test_the_loop_builds_only_the_channels_with_a_source_and_keeps_the_field_order():
    cfg = config.from_dict({"video": {"source": "sample", "realtime": False}, "audio": {"source": "none"}})
    rec = Recorder()
    pipeline = Pipeline(cfg, rec)
    assert list(pipeline.channels) == ["face"]
    stop = threading.Event()
    timer = threading.Timer(20.0, stop.set)  # the clip ends long before; this only bounds a hang
    timer.start()
    try:
        assert pipeline.run(stop) == 0
    finally:
        timer.cancel()
    r = rec.results[0]
    assert list(r)[:8] == ["schema", "ts", "frame", "faces", "audio", "audio_reason", "text", "text_reason"]
    assert r["audio"] is None and r["audio_reason"] == "audio off"
    with_face = [r for r in rec.results if r["faces"]]
    assert with_face and all(r["fused"]["sources"] == ["face"] for r in with_face)
    stats = pipeline.stats()
    assert stats["audio_windows"] == 0 and stats["texts"] == 0  # the counters of channels that are off read 0


def test_a_face_part_fuses_the_largest_face():
    cfg = config.Config()
    face = channel_class("face").from_config(cfg)
    import cv2

    from edge.paths import SAMPLE_VIDEO

    cap = cv2.VideoCapture(str(SAMPLE_VIDEO))
    ok, image = cap.read()
    cap.release()
    assert ok
    part = face.part(face.faces(image, {}))
    assert part.fields["faces"] and part.vector is not None
    assert FUSED_LABELS[int(np.nanargmax(part.vector))] == part.fields["faces"][0]["emotion"]  # NaN: bored


# -- a new modality is one module and its config section ------------------------------------------------------------
@pytest.fixture
def tick(monkeypatch):
    """tests/tick_channel.py registered as a fourth channel, with the config that has its section."""
    from edge import registry
    from tests.tick_channel import TickConfigFile

    monkeypatch.setitem(registry.CHANNELS, "tick", registry.Entry("tick", "tests.tick_channel", "TickChannel"))
    cfg = TickConfigFile()
    cfg.video.source = cfg.audio.source = "none"
    cfg.tick.source = "on"
    return cfg


def test_check_config_runs_a_new_channels_own_check(tick):
    from edge.config import ConfigError
    from edge.preflight import check

    check(tick)
    tick.tick.emotion = "smug"
    with pytest.raises(ConfigError, match=r"tick\.emotion = 'smug': not one of"):
        check(tick)
    tick.tick.source = "none"
    with pytest.raises(ConfigError, match=r"video\.source, audio\.source, text\.source and tick\.source are all "
                                          r"'none': nothing to do"):
        check(tick)


def test_the_live_loop_steps_publishes_and_fuses_a_new_channel(tick):
    rec = Recorder()
    pipeline = Pipeline(tick, rec)
    assert list(pipeline.channels) == ["tick"]
    stop = threading.Event()
    timer = threading.Timer(20.0, stop.set)  # the tick input ends after three steps; this only bounds a hang
    timer.start()
    try:
        assert pipeline.run(stop) == 0  # ended as a file does: every channel's input finished
    finally:
        timer.cancel()
    assert [r["tick"]["n"] for r in rec.results] == [1, 2, 3]
    r = rec.results[-1]
    assert r["audio_reason"] == "audio off" and r["text_reason"] == "text off"
    assert r["fused"]["emotion"] == "happy" and r["fused"]["sources"] == ["tick"]
    assert pipeline.stats()["ticks"] == 3


def test_infer_gives_a_new_channel_the_inputs_of_its_kinds(tick):
    import io
    import json

    from edge.infer import infer_paths

    out = io.StringIO()
    assert infer_paths(tick, [], texts=["what a lovely surprise"], out=out) == 0
    (r,) = [json.loads(line) for line in out.getvalue().splitlines()]
    assert r["tick"] == {"emotion": "happy", "chars": 22} and r["text"]["emotion"] is not None
    assert r["audio_reason"] == "no audio input" and sorted(r["fused"]["sources"]) == ["text", "tick"]
