"""MQTT publisher: results, state, events and stats on the device's topics, through its one broker connection
(edge/mqtt/connection.py: asynchronous connect, automatic reconnect, retained status, a bounded outage queue)."""

from __future__ import annotations

import json
import logging
from typing import Any

from ..config import MqttConfig
from ..mqtt.connection import MqttConnection
from ..mqtt.settings import client_id, read_password, topic_base
from .base import Publisher
from .discovery import discovery_messages

logger = logging.getLogger(__name__)


def _json(value: Any) -> Any:
    if hasattr(value, "tolist"):  # numpy arrays and scalars
        return value.tolist()
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


class MqttPublisher(Publisher):
    """Results to `<prefix>/<device>/{status,emotion,state,stats,events}`; `publish` never blocks and never raises."""

    name = "mqtt"

    @classmethod
    def from_config(cls, cfg, **options: Any) -> "MqttPublisher":
        return cls(cfg.mqtt)

    def __init__(self, cfg: MqttConfig) -> None:
        self.cfg = cfg
        read_password(cfg)  # a password error is a configuration error, raised before anything starts
        self.device_id, base = topic_base(cfg)
        self.topics = {k: f"{base}/{k}" for k in ("status", "emotion", "state", "stats", "events")}
        self.where = f"{cfg.host}:{cfg.port}"
        self._results = 0
        self._state: tuple[Any, float] | None = None
        self._state_payload: bytes | None = None
        self.client_id = client_id(cfg, self.device_id)
        self.connection = MqttConnection(cfg, self.client_id, self.device_id, status_topic=self.topics["status"])
        self.connection.on_connect.append(self._on_connect)
        logger.info("MQTT: connecting to %s as %r, topics %s/...%s", self.where, cfg.username or "anonymous", base,
                    " over TLS" if cfg.tls else "")
        self.connection.start()

    # --- the Publisher interface -------------------------------------------------------------------------

    def publish(self, result: dict[str, Any]) -> None:
        try:
            self._results += 1  # only the loop's thread publishes
            payload = self._encode(result, "result")
            if payload is None:
                return
            self.connection.publish(self.topics["emotion"], payload, self.cfg.qos_emotion, self.cfg.retain_emotion,
                                    queue=True)
            self._update_state(result)
        except Exception:  # publishing never crashes inference: log, count, go on
            self.connection.count("errors")
            logger.exception("MQTT publish failed")

    def publish_event(self, event: dict[str, Any]) -> None:
        try:
            payload = self._encode(event, "event")
            if payload is not None:  # queued like results: a dashboard must not miss an `end`
                self.connection.publish(self.topics["events"], payload, self.cfg.qos_events, False, queue=True)
        except Exception:
            self.connection.count("errors")
            logger.exception("MQTT event publish failed")

    def publish_stats(self, stats: dict[str, Any]) -> None:
        try:
            payload = self._encode(stats, "stats")
            if payload is not None:  # stats are not queued: a stale health report is worth nothing
                self.connection.publish(self.topics["stats"], payload, self.cfg.qos_stats, False, queue=False)
        except Exception:
            self.connection.count("errors")
            logger.exception("MQTT stats publish failed")

    def stats(self) -> dict[str, Any]:
        """Counters for the runtime's health report (meanings in docs/mqtt.md), plus connected, queued, last_error."""
        return {"results": self._results, **self.connection.stats()}

    def close(self, timeout: float = 1.0) -> None:
        """Wait (bounded) for in-flight messages, publish `offline`, disconnect and stop the network thread."""
        self.connection.close(timeout)

    # --- internals ---------------------------------------------------------------------------------------

    def _encode(self, obj: dict[str, Any], what: str) -> bytes | None:
        try:
            return json.dumps(obj, separators=(",", ":"), allow_nan=False, default=_json).encode()
        except (TypeError, ValueError) as e:
            n = self.connection.count("rejected")
            if n & (n - 1) == 0:  # log the 1st, 2nd, 4th, 8th... so a systematic fault cannot flood the journal
                logger.error("MQTT: %s not sent, it is not valid JSON: %s (%d rejected so far)", what, e, n)
            return None

    def _update_state(self, result: dict[str, Any]) -> None:
        fused = result.get("fused") or {}
        emotion, confidence = fused.get("emotion"), float(fused.get("confidence") or 0.0)
        step = self.cfg.state_confidence_step
        with self.connection.lock:
            old = self._state
            if old is not None and old[0] == emotion and (step == 0 or abs(old[1] - confidence) < step):
                return
            self._state = (emotion, confidence)
            self._state_payload = json.dumps({"emotion": emotion, "confidence": round(confidence, 4),
                                              "ts": result.get("ts")}, separators=(",", ":")).encode()
            payload = self._state_payload
        # Not queued: the latest state is re-published on every (re)connect.
        self.connection.publish(self.topics["state"], payload, self.cfg.qos_state, True, queue=False)

    def _on_connect(self) -> None:
        """On every (re)connect, under the connection's lock and after `online`: discovery and the latest state."""
        if self.cfg.discovery:
            for topic, payload in discovery_messages(self.cfg.discovery_prefix, self.device_id, self.topics):
                self.connection.publish(topic, payload.encode(), self.cfg.qos_status, True, queue=False)
        if self._state_payload is not None:  # a broker restarted without persistence has lost it
            self.connection.publish(self.topics["state"], self._state_payload, self.cfg.qos_state, True, queue=False)
