"""Where texts come from in the live loop: stdin lines or an MQTT topic, into a bounded inbox that never blocks."""

from __future__ import annotations

import json
import logging
import os
import re
import select
import sys
import threading

from ..text.decode import TextInputError, decode
from .text_inbox import TextInbox

logger = logging.getLogger(__name__)

READ_CHUNK = 64 * 1024  # one os.read of stdin
READ_POLL_S = 0.1  # how often the stdin reader looks at the stop event while nothing arrives

_TEXT_FIELD = re.compile(r'"text"\s*:\s*"((?:[^"\\]|\\.)*)')


def _cut_json_text(raw: str) -> str | None:
    """The start of the `text` string of a JSON object cut short (a payload over the byte limit), or None."""
    m = _TEXT_FIELD.search(raw)
    if m is None:
        return None
    frag = m.group(1)
    for trim in range(6):  # an escape cut in half at the end ("\u00", "\")
        try:
            return json.loads('"' + frag[:len(frag) - trim] + '"')
        except ValueError:
            continue
    return None


def payload_text(data: bytes, cut: bool = False) -> str:
    """An MQTT payload or a line -> its text: JSON with a `text` field (Rhasspy/Hermes textCaptured), a JSON string,
    or plain UTF-8. TextInputError says why there is none. `cut`: the payload was cut short on arrival."""
    raw = decode(data)
    head = raw.lstrip()[:1]
    if head in ("{", '"'):
        try:
            obj = json.loads(raw)
        except ValueError:
            if cut and head == "{":
                text = _cut_json_text(raw)
                if text is not None:
                    return text
            elif cut and head == '"':
                return raw.lstrip()[1:]  # a JSON string cut before its closing quote: its characters so far
            return raw  # text that happens to start with a brace or a quote
        if isinstance(obj, str):
            return obj
        if isinstance(obj, dict):
            if isinstance(obj.get("text"), str):
                return obj["text"]
            raise TextInputError("JSON without a string `text` field (send {\"text\": \"...\"} or plain text)")
    return raw


class TextSource:
    """Fills an inbox from its own thread; `ended` when it never will again (stdin closed)."""

    name = ""

    def __init__(self, inbox: TextInbox) -> None:
        self.inbox = inbox
        self.ended = False

    @classmethod
    def from_config(cls, inbox: TextInbox, cfg, broker=None) -> "TextSource":
        """The source `text.source` names, from the config (`broker`: the publisher's MQTT connection, if any)."""
        return cls(inbox)

    def start(self, stop: threading.Event) -> "TextSource":
        return self

    def close(self, timeout: float = 1.0) -> None:
        pass


class StdinTextSource(TextSource):
    """One text per line of stdin (or any file descriptor); the end of the stream ends the source.

    It reads the raw descriptor with os.read after select, never through sys.stdin's buffered reader: a thread
    blocked inside that reader holds its lock, and the interpreter's exit then aborts the process ("Fatal Python
    error: _enter_buffered_busy") when SIGTERM comes while a writer (a transcriber) is still attached.
    """

    name = "stdin"

    def __init__(self, inbox: TextInbox, fd: int | None = None) -> None:
        super().__init__(inbox)
        if fd is None:
            try:
                fd = sys.stdin.fileno() if sys.stdin is not None else None
            except (OSError, ValueError):  # closed, or replaced by an object without a descriptor
                fd = None
        self.fd = fd
        self._thread: threading.Thread | None = None

    def start(self, stop: threading.Event) -> "StdinTextSource":
        if self.fd is None:
            logger.warning("text source stdin: standard input is closed; no texts will come")
            self.ended = True
            return self
        # A daemon thread that looks at the stop event between reads; it holds no lock the interpreter's exit needs.
        self._thread = threading.Thread(target=self._run, args=(stop,), name="text-stdin", daemon=True)
        self._thread.start()
        return self

    def _readable(self, stop: threading.Event) -> bool:
        """Wait until the descriptor has data (or its end) or `stop` is set; True when there is something to read."""
        while not stop.is_set():
            try:
                ready, _, _ = select.select([self.fd], [], [], READ_POLL_S)
            except (OSError, ValueError):  # a descriptor select cannot watch: read it as it comes (a file)
                return True
            if ready:
                return True
        return False

    def _run(self, stop: threading.Event) -> None:
        n = 0
        limit = self.inbox.max_text_bytes
        line, size = bytearray(), 0  # the current line's first `limit` bytes, and its length so far
        try:
            while self._readable(stop):
                chunk = os.read(self.fd, READ_CHUNK)
                if not chunk:
                    break
                start = 0
                while start < len(chunk):
                    end = chunk.find(b"\n", start)
                    piece = chunk[start:] if end < 0 else chunk[start:end]
                    if len(line) < limit:
                        line += piece[:limit - len(line)]
                    size += len(piece)
                    if end < 0:
                        break
                    n += 1
                    self._put(bytes(line), size, n)
                    line, size = bytearray(), 0
                    start = end + 1
            if size:  # the last line, without its newline
                self._put(bytes(line), size, n + 1)
        except (OSError, ValueError) as e:  # a closed or broken stream ends the source, it does not end the loop
            logger.warning("stdin text source stopped: %s", e)
        finally:
            self.ended = True

    def _put(self, line: bytes, size: int, n: int) -> None:
        text = line.rstrip(b"\r")
        if text.strip():  # blank lines are no texts
            self.inbox.put(text, f"stdin line {n}", size=size - (len(line) - len(text)))

    def close(self, timeout: float = 1.0) -> None:
        if self._thread is not None:
            self._thread.join(timeout)


class MqttTextSource(TextSource):
    """Subscribes to one topic on the [mqtt] broker: on the publisher's connection when results go to the same
    broker (one client per broker), else on a connection of its own; paho reconnects and re-subscribes by itself."""

    name = "mqtt"

    def __init__(self, inbox: TextInbox, mqtt_cfg, topic: str, qos: int, broker=None) -> None:
        from ..mqtt.connection import MqttConnection
        from ..mqtt.settings import client_id, topic_base

        super().__init__(inbox)
        self.cfg, self.topic, self.qos = mqtt_cfg, topic, qos
        self.own = broker is None
        if self.own:
            device, _ = topic_base(mqtt_cfg)
            # A client id of its own: a broker drops the first connection of a client id used twice (ACLs written
            # for the subscriber's id keep matching).
            broker = MqttConnection(mqtt_cfg, client_id(mqtt_cfg, device) + "-text", device)
        self.broker = broker

    @classmethod
    def from_config(cls, inbox: TextInbox, cfg, broker=None) -> "MqttTextSource":
        return cls(inbox, cfg.mqtt, cfg.text.topic, cfg.text.qos, broker)

    def start(self, stop: threading.Event) -> "MqttTextSource":
        logger.info("text: subscribing to %s on %s:%d", self.topic, self.cfg.host, self.cfg.port)
        self.broker.subscribe(self.topic, self.qos, self._on_message, "text")
        if self.own:
            self.broker.start()
        return self

    @property
    def connected(self) -> bool:
        return self.broker.connected

    def _on_message(self, message) -> None:
        self.inbox.put(message.payload, f"mqtt {message.topic}")

    def close(self, timeout: float = 1.0) -> None:
        if self.own:
            self.broker.close(timeout)
        else:  # the publisher closes the connection it shares, after the channels
            self.broker.unsubscribe(self.topic)
