"""The text channel: transcripts and messages (stdin lines or an MQTT topic), one emotion per text, stale after a while."""

from __future__ import annotations

import logging
import threading
import time

from ..fuse.fusion import to_fused
from ..paths import resolve_model
from ..classify.text import TextClassifier, TextResult, with_context
from ..text.decode import TextInputError, decode
from .base import Channel, InferOptions, Inferred, Part, model_options

logger = logging.getLogger(__name__)


class TextChannel(Channel):
    """Text classifier and its input, built from [models], [text] (and [mqtt] for an MQTT topic) and
    fusion.text_max_age_s."""

    name = "text"
    stages = ("text_classify",)
    counters = ("texts", "texts_without_emotion", "texts_dropped", "texts_cut")
    source_key = "text.source"
    task = "text"
    infer_kinds = frozenset({"text"})
    no_input = "no text input"
    off_reason = "text off"

    def __init__(self, classifier: TextClassifier, cfg, max_age_s: float) -> None:
        self.classifier, self.cfg, self.text_cfg, self.max_age_s = classifier, cfg, cfg.text, max_age_s
        self.input = None
        self.inbox = None
        self.texts = 0
        self.rejected = 0
        self._last: tuple[float, Part] | None = None  # (arrival, monotonic seconds; its part)
        self.context = cfg.text.context  # weight of the previous text (text.context)
        self._previous: tuple[float, object] | None = None  # (monotonic seconds, its own probabilities)

    @classmethod
    def source(cls, cfg) -> str | None:
        return None if cfg.text.source == "none" else cfg.text.source

    @classmethod
    def from_config(cls, cfg) -> "TextChannel":
        opts = model_options(cfg.models)
        classifier = TextClassifier(resolve_model("text", cfg.models.text, opts["backend"]), max_chars=cfg.text.max_chars,
                                    **opts)
        return cls(classifier, cfg, cfg.fusion.text_max_age_s)

    @classmethod
    def check(cls, cfg, spec: str) -> list[str]:
        from ..mqtt import settings as mqtt_settings

        return mqtt_settings.check(cfg.mqtt) if spec == "mqtt" else []  # texts from MQTT: the [mqtt] broker

    @classmethod
    def absent(cls, reason: str) -> Part:
        return Part({"text": None, "text_reason": reason})

    def infer(self, item, kind, timing: dict[str, float], options: InferOptions) -> Inferred:
        """A sentence (a line of a text file, a `--text` argument); bytes: an argument that is not UTF-8, reported
        as such, never echoed as the surrogates Python keeps them in."""
        if isinstance(item, bytes):
            try:
                decode(item)
                reason = "not UTF-8 text"
            except TextInputError as e:
                reason = str(e)
            return Inferred(Part({"text": {"emotion": None, "reason": reason}}))
        return Inferred(self.classify(item, timing))

    def part(self, res: TextResult, age_s: float | None = None) -> Part:
        """A text's fields: its emotion (and age), or null and the reason, with the flags either way."""
        d = res.to_dict()
        if age_s is not None:
            d["age_s"] = round(age_s, 3)
        vector = None if res.probs is None else to_fused(res.probs, self.classifier.labels)
        return Part({"text": d}, vector, value=res)

    def classify(self, text: str, timing: dict[str, float], truncated: bool = False) -> Part:
        """One text -> its Part; what is not text gives its reason instead (`infer`, and each live text)."""
        t = time.perf_counter()
        try:
            res = self.classifier.classify(text, truncated)
        except TextInputError as e:
            return Part({"text": {"emotion": None, "reason": str(e)}})
        finally:
            timing["text_classify"] = (time.perf_counter() - t) * 1e3
        if self.context and res.probs is not None:
            now = time.monotonic()
            prev = self._previous
            fresh = prev is not None and now - prev[0] <= self.max_age_s  # older: another conversation
            self._previous = (now, res.probs)
            res = with_context(res, prev[1] if fresh else None, self.context)
        return self.part(res)

    # -- the live loop ----------------------------------------------------------------------
    def open(self, stop: threading.Event, realtime: bool, media_clock: bool = False, broker=None) -> None:
        """Texts arrive in real time whatever the video does (`media_clock` does not apply to them)."""
        from ..capture.text_inbox import TextInbox, text_byte_limit
        from ..registry import TEXT_SOURCES, load

        t = self.text_cfg
        self.inbox = TextInbox(t.queue_size, text_byte_limit(t.max_chars))
        source = load(TEXT_SOURCES, t.source, "text source", RuntimeError)
        self.input = source.from_config(self.inbox, self.cfg, broker)
        self.input.start(stop)

    def step(self, frame, timing: dict[str, float], until_s: float | None = None) -> Part:
        """Classify the next waiting text (one per step, so every text gets its own result); else the latest
        while it is fresh."""
        from ..capture.text import payload_text

        arrival = self.inbox.get()
        fresh = arrival is not None
        if arrival is not None:
            t = time.perf_counter()
            try:
                part = self.classify(payload_text(arrival.data, arrival.cut), timing, arrival.cut)
            except TextInputError as e:  # not text at all: say which input, then carry on
                part = Part({"text": {"emotion": None, "reason": str(e)}})
                logger.warning("text from %s: %s", arrival.origin, e)
            timing["text_classify"] = (time.perf_counter() - t) * 1e3  # decoding included
            if part.vector is None:
                self.rejected += 1
            self.texts += 1
            self._last = (arrival.at, part)
        elif self.input.ended and not len(self.inbox):
            self.ended = True
        part = self._now()
        # Waiting for the next text is the loop working (the systemd watchdog's view): a broker outage is paho's
        # to retry, not a reason to restart the service.
        return Part(part.fields, part.vector, fresh=fresh, progressed=fresh or not self.ended, value=part.value)

    def _now(self) -> Part:
        if self._last is None:
            return self.absent("no text yet")
        at, part = self._last
        age = time.monotonic() - at
        if age > self.max_age_s:
            return self.absent("no recent text")
        text = dict(part.fields["text"], age_s=round(age, 3))
        return Part({"text": text}, part.vector, value=part.value)

    def stats(self) -> dict[str, int]:
        return {"texts": self.texts, "texts_without_emotion": self.rejected,
                "texts_dropped": self.inbox.dropped if self.inbox is not None else 0,
                "texts_cut": self.inbox.cut if self.inbox is not None else 0}

    def close(self, timeout: float = 1.0) -> None:
        if self.input is not None:
            self.input.close(timeout)
