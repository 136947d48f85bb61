"""Where texts come from in the live loop: stdin lines or an MQTT topic, into a bounded inbox that never blocks."""

from __future__ import annotations

import collections
import json
import logging
import sys
import threading
import time
from typing import IO, NamedTuple

from .classify import TextInputError, decode

logger = logging.getLogger(__name__)


class Arrival(NamedTuple):
    data: bytes  # the raw payload or line; decoding and checks happen in the channel, where errors are reported
    at: float  # time.monotonic() when it arrived
    origin: str  # "stdin line 3", "mqtt hermes/asr/textCaptured"


class TextInbox:
    """A bounded queue: producers never wait; when full the oldest text is dropped and counted."""

    def __init__(self, size: int) -> None:
        self._q: collections.deque[Arrival] = collections.deque(maxlen=size)
        self._lock = threading.Lock()
        self.received = 0
        self.dropped = 0

    def put(self, data: bytes, origin: str) -> None:
        with self._lock:
            if len(self._q) == self._q.maxlen:
                self.dropped += 1
            self._q.append(Arrival(bytes(data), time.monotonic(), origin))
            self.received += 1

    def get(self) -> Arrival | None:
        with self._lock:
            return self._q.popleft() if self._q else None

    def __len__(self) -> int:
        return len(self._q)


def payload_text(data: bytes) -> str:
    """An MQTT payload or a line -> its text: JSON with a `text` field (Rhasspy/Hermes textCaptured), a JSON string,
    or plain UTF-8. TextInputError says why there is none."""
    raw = decode(data)
    head = raw.lstrip()[:1]
    if head in ("{", '"'):
        try:
            obj = json.loads(raw)
        except ValueError:
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

    def start(self, stop: threading.Event) -> "TextSource":
        return self

    def close(self, timeout: float = 1.0) -> None:
        pass


class StdinTextSource(TextSource):
    """One text per line of stdin (or any binary stream); the end of the stream ends the source."""

    name = "stdin"

    def __init__(self, inbox: TextInbox, stream: IO[bytes] | None = None) -> None:
        super().__init__(inbox)
        self.stream = stream if stream is not None else getattr(sys.stdin, "buffer", None)
        self._thread: threading.Thread | None = None

    def start(self, stop: threading.Event) -> "StdinTextSource":
        if self.stream is None:
            logger.warning("text source stdin: standard input is closed; no texts will come")
            self.ended = True
            return self
        # A daemon thread: a read from a terminal cannot be interrupted, and must not hold up the shutdown.
        self._thread = threading.Thread(target=self._run, args=(stop,), name="text-stdin", daemon=True)
        self._thread.start()
        return self

    def _run(self, stop: threading.Event) -> None:
        n = 0
        try:
            for line in self.stream:
                if stop.is_set():
                    break
                n += 1
                if line.strip():  # blank lines are no texts
                    self.inbox.put(line.rstrip(b"\r\n"), f"stdin line {n}")
        except (OSError, ValueError) as e:  # a closed or broken stream ends the source, it does not end the loop
            logger.warning("stdin text source stopped: %s", e)
        finally:
            self.ended = True

    def close(self, timeout: float = 1.0) -> None:
        if self._thread is not None:
            self._thread.join(timeout)


class MqttTextSource(TextSource):
    """Subscribes to one topic on the [mqtt] broker; reconnects and re-subscribes by itself."""

    name = "mqtt"

    def __init__(self, inbox: TextInbox, mqtt_cfg, topic: str, qos: int) -> None:
        import paho.mqtt.client as mqtt

        from ..publish.mqtt import PROTOCOLS
        from ..publish.settings import client_id, read_password, tls_files, topic_base

        super().__init__(inbox)
        self.cfg, self.topic, self.qos = mqtt_cfg, topic, qos
        device, _ = topic_base(mqtt_cfg)
        # Its own client id: the broker would drop the publisher's connection for a second client with the same id.
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, protocol=PROTOCOLS[mqtt_cfg.protocol],
                                  client_id=client_id(mqtt_cfg, device) + "-text")
        self.client.enable_logger(logging.getLogger(__name__ + ".paho"))
        if mqtt_cfg.username:
            self.client.username_pw_set(mqtt_cfg.username, read_password(mqtt_cfg))
        if mqtt_cfg.tls:
            files = tls_files(mqtt_cfg)
            self.client.tls_set(ca_certs=files["ca_file"] or None, certfile=files["cert_file"] or None,
                                keyfile=files["key_file"] or None)
        self.client.reconnect_delay_set(mqtt_cfg.reconnect_min_s, mqtt_cfg.reconnect_max_s)
        self.client.on_connect = self._on_connect
        self.client.on_disconnect = self._on_disconnect
        self.client.on_message = self._on_message
        self.client.on_subscribe = self._on_subscribe
        self.client.on_connect_fail = self._on_connect_fail
        self.connected = threading.Event()
        self._failed = False  # a connection failure is logged once, until the next success

    def start(self, stop: threading.Event) -> "MqttTextSource":
        logger.info("text: subscribing to %s on %s:%d", self.topic, self.cfg.host, self.cfg.port)
        self.client.connect_async(self.cfg.host, self.cfg.port, keepalive=self.cfg.keepalive_s)
        self.client.loop_start()
        return self

    def _on_connect(self, client, userdata, flags, reason_code, properties) -> None:
        if reason_code.is_failure:
            logger.error("text: MQTT broker %s:%d refused the connection: %s", self.cfg.host, self.cfg.port, reason_code)
            return
        client.subscribe(self.topic, qos=self.qos)  # again on every reconnect: a clean session forgets it
        self.connected.set()
        self._failed = False

    def _on_connect_fail(self, client, userdata) -> None:
        if not self._failed:  # paho retries by itself; say it once, not every few seconds
            self._failed = True
            logger.warning("text: cannot reach the MQTT broker %s:%d; retrying (no texts until it answers)",
                           self.cfg.host, self.cfg.port)

    def _on_subscribe(self, client, userdata, mid, reason_codes, properties) -> None:
        if any(rc.is_failure for rc in reason_codes):
            logger.error("text: the broker refused the subscription to %s (%s); check its ACL", self.topic,
                         ", ".join(map(str, reason_codes)))
        else:
            logger.info("text: subscribed to %s", self.topic)

    def _on_disconnect(self, client, userdata, flags, reason_code, properties) -> None:
        self.connected.clear()

    def _on_message(self, client, userdata, message) -> None:
        self.inbox.put(message.payload, f"mqtt {message.topic}")

    def close(self, timeout: float = 1.0) -> None:
        self.client.disconnect()
        self.client.loop_stop()
