"""MQTT publisher: asynchronous connect, automatic reconnect, retained status and state, a bounded outage queue."""

from __future__ import annotations

import collections
import json
import logging
import socket
import ssl
import sys
import threading
import time
from typing import Any

import paho.mqtt.client as mqtt

from ..config import MqttConfig
from .base import Publisher
from .discovery import discovery_messages
from .settings import client_id, read_password, tls_files, topic_base

logger = logging.getLogger(__name__)

PROTOCOLS = {"3.1.1": mqtt.MQTTv311, "5": mqtt.MQTTv5}
# Bytes of a PUBLISH packet besides topic and payload, at most: fixed header 1 + remaining length 4 + topic length 2
# + packet id 2 + MQTT 5 property length 4; counted against the broker's maximum packet size.
PUBLISH_OVERHEAD = 13
# CONNACK reason codes (paho maps the MQTT 3.1.1 return codes 4 and 5 onto these) that mean the credentials are wrong.
BAD_CREDENTIALS = (134, 135)
SESSION_TAKEN_OVER = 142  # MQTT 5 DISCONNECT: another client connected with this client id
# A broker answers CONNECT within milliseconds on a LAN and within a second or two over a slow link; a connection
# accepted by TCP and still without CONNACK after this long is not going to get one (a TLS port spoken to in plain
# MQTT, a frozen broker, another service on the port).
CONNACK_WARN_S = 5.0
# Connections closed by the broker this soon after it accepted them, this many times within FLAP_WINDOW_S: the
# pattern of two clients with one client id knocking each other off (MQTT 3.1.1 says nothing more).
FLAP_CONNECTED_S, FLAP_COUNT, FLAP_WINDOW_S = 10.0, 3, 60.0


def _not_retry_noise(record: logging.LogRecord) -> bool:
    # paho 2.2 logs this at ERROR on every retry while the broker is down; _on_connect_fail reports it once.
    return not str(record.msg).startswith("Client is not connected")


def connect_failure(cfg: MqttConfig, error: BaseException | None) -> tuple[str, int]:
    """Why a connection to the [mqtt] broker failed, with the likely fix, and the level to log it at (the publisher's
    and the text subscriber's words for one failure)."""
    where = f"{cfg.host}:{cfg.port}"
    if cfg.tls and (isinstance(error, (ConnectionResetError, ConnectionAbortedError, BrokenPipeError, ssl.SSLEOFError,
                                       ssl.SSLZeroReturnError))
                    or isinstance(error, ssl.SSLError) and "WRONG_VERSION_NUMBER" in str(error)):
        # A plain MQTT listener reads the TLS ClientHello as a malformed packet and hangs up.
        return (f"TLS handshake with {where} failed: {error}; mqtt.tls = true, and the broker closed the connection: "
                f"port {cfg.port} is most likely a plain MQTT listener (1883 usually is, TLS is usually 8883); set the "
                "TLS port or mqtt.tls = false", logging.ERROR)
    if cfg.tls and isinstance(error, (socket.timeout, TimeoutError)):
        return (f"TLS handshake with {where} timed out: it took the TCP connection and never answered (a frozen "
                "broker, not a TLS port, or not an MQTT broker)", logging.WARNING)
    if isinstance(error, ssl.SSLError):
        return (f"TLS handshake with {where} failed: {error} (check mqtt.ca_file, cert_file, key_file and that the "
                f"broker's certificate names {cfg.host})", logging.ERROR)
    if isinstance(error, socket.gaierror):
        return f"cannot resolve mqtt.host = {cfg.host!r}: {error}", logging.ERROR
    return f"cannot connect to {where}: {error or 'connection failed'}", logging.WARNING


def _json(value: Any) -> Any:
    if hasattr(value, "tolist"):  # numpy arrays and scalars
        return value.tolist()
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


class MqttPublisher(Publisher):
    """Results to `<prefix>/<device>/{status,emotion,state,stats,events}`; `publish` never blocks and never raises."""

    name = "mqtt"

    def __init__(self, cfg: MqttConfig) -> None:
        self.cfg = cfg
        password = read_password(cfg)
        self.device_id, base = topic_base(cfg)
        self.topics = {k: f"{base}/{k}" for k in ("status", "emotion", "state", "stats", "events")}
        self.where = f"{cfg.host}:{cfg.port}"
        # _lock guards the connection flag, the outage queue and the state; it may be held while calling paho
        # (re-entrant: _on_connect holds it around _submit). Counters have their own lock because paho calls
        # on_publish while holding its message lock, which `publish` may be waiting for while it holds _lock.
        self._lock = threading.RLock()
        self._count_lock = threading.Lock()
        self._queue: collections.deque[tuple[str, bytes, int, bool]] = collections.deque(maxlen=cfg.queue_size)
        self._connected = False
        self._closing = False
        self._state: tuple[Any, float] | None = None
        self._state_payload: bytes | None = None
        self._broker_max_packet = 0  # MQTT 5 CONNACK "Maximum Packet Size"; 0: not announced
        self._counts = dict(results=0, sent=0, delivered=0, dropped=0, rejected=0, refused=0, errors=0, connects=0,
                            connect_failures=0)
        self._last_error = ""
        self._connected_at = 0.0  # time.monotonic() of the latest CONNACK
        self._flaps: collections.deque[float] = collections.deque(maxlen=FLAP_COUNT)  # short-lived connections
        self._duplicate_told = False

        self.client_id = client_id(cfg, self.device_id)
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, protocol=PROTOCOLS[cfg.protocol],
                                  client_id=self.client_id)
        paho_logger = logging.getLogger(__name__ + ".paho")
        paho_logger.addFilter(_not_retry_noise)  # a no-op when already added
        self.client.enable_logger(paho_logger)
        if cfg.username:
            self.client.username_pw_set(cfg.username, password)
        if cfg.tls:
            self._set_tls()
        self.client.will_set(self.topics["status"], "offline", qos=cfg.qos_status, retain=True)
        self.client.reconnect_delay_set(cfg.reconnect_min_s, cfg.reconnect_max_s)
        # While connected, unacknowledged QoS 1/2 messages wait inside paho; bound them too, for a broker that is
        # reachable but too slow. Twice the outage queue, so a full outage queue fits when it is sent on reconnect.
        self.client.max_queued_messages_set(2 * cfg.queue_size)
        self.client.on_connect = self._on_connect
        self.client.on_connect_fail = self._on_connect_fail
        self.client.on_disconnect = self._on_disconnect
        self.client.on_publish = self._on_publish
        logger.info("MQTT: connecting to %s as %r, topics %s/...%s", self.where, cfg.username or "anonymous", base,
                    " over TLS" if cfg.tls else "")
        # connect_async + loop_start: the loop starts even when the broker is down and retries on its own.
        self.client.connect_async(cfg.host, cfg.port, keepalive=cfg.keepalive_s)
        self.client.loop_start()
        self._connack_timer = threading.Timer(CONNACK_WARN_S, self._no_connack)
        self._connack_timer.daemon = True
        self._connack_timer.start()

    def _no_connack(self) -> None:
        """A broker that took the TCP connection and never answered CONNECT: say so once, well before shutdown."""
        with self._lock:
            if self._connected or self._closing or self._counts["connects"]:
                return
        if self.client.socket() is None:
            return  # not even TCP: _on_connect_fail says why
        hint = ("a plain-MQTT client on a TLS port? set mqtt.tls = true" if not self.cfg.tls
                else "a frozen broker, or not an MQTT broker on that port")
        logger.warning("MQTT: %s accepted the TCP connection but has not answered CONNECT in %g s (%s); results "
                       "wait in the queue of %d meanwhile", self.where, CONNACK_WARN_S, hint, self.cfg.queue_size)

    def _set_tls(self) -> None:
        files = tls_files(self.cfg)
        self.client.tls_set(ca_certs=files["ca_file"] or None, certfile=files["cert_file"] or None,
                            keyfile=files["key_file"] or None)

    # --- the Publisher interface -------------------------------------------------------------------------

    def publish(self, result: dict[str, Any]) -> None:
        try:
            self._count("results")
            payload = self._encode(result, "result")
            if payload is None:
                return
            self._submit(self.topics["emotion"], payload, self.cfg.qos_emotion, self.cfg.retain_emotion, queue=True)
            self._update_state(result)
        except Exception:  # publishing never crashes inference: log, count, go on
            self._count("errors")
            logger.exception("MQTT publish failed")

    def publish_event(self, event: dict[str, Any]) -> None:
        try:
            payload = self._encode(event, "event")
            if payload is not None:  # queued like results: a dashboard must not miss an `end`
                self._submit(self.topics["events"], payload, self.cfg.qos_events, False, queue=True)
        except Exception:
            self._count("errors")
            logger.exception("MQTT event publish failed")

    def publish_stats(self, stats: dict[str, Any]) -> None:
        try:
            payload = self._encode(stats, "stats")
            if payload is not None:  # stats are not queued: a stale health report is worth nothing
                self._submit(self.topics["stats"], payload, self.cfg.qos_stats, False, queue=False)
        except Exception:
            self._count("errors")
            logger.exception("MQTT stats publish failed")

    def stats(self) -> dict[str, Any]:
        """Counters for the runtime's health report (meanings in docs/mqtt.md), plus connected, queued, last_error."""
        with self._count_lock:
            out: dict[str, Any] = dict(self._counts)
        with self._lock:
            out.update(connected=self._connected, queued=len(self._queue), last_error=self._last_error)
        return out

    def close(self, timeout: float = 1.0) -> None:
        """Wait (bounded) for in-flight messages, publish `offline`, disconnect and stop the network thread."""
        if self._closing:
            return
        self._connack_timer.cancel()
        deadline = time.monotonic() + timeout
        with self._lock:
            self._closing = True
            connected, left = self._connected, len(self._queue)
        if connected:
            while time.monotonic() < deadline and self._unacknowledged() > 0:
                time.sleep(0.01)
            info = self.client.publish(self.topics["status"], "offline", qos=self.cfg.qos_status, retain=True)
            try:
                info.wait_for_publish(max(deadline - time.monotonic(), 0.05))
            except (RuntimeError, ValueError):  # the connection dropped meanwhile: the last will says offline
                pass
        if left:
            logger.warning("MQTT: %d queued results were not sent (not connected to %s at shutdown)", left, self.where)
        unacked = self._unacknowledged()
        if unacked > 0:  # a broker that stopped answering (frozen, overloaded): these may never arrive
            logger.warning("MQTT: %d messages sent to %s were not acknowledged before shutdown and may be lost",
                           unacked, self.where)
        self.client.disconnect()
        # A connect attempt in progress holds paho's network thread for its socket timeout (5 s), longer than a
        # shutdown may take; the thread is a daemon, so wait for it only as long as the caller allows.
        stopper = threading.Thread(target=self.client.loop_stop, name="mqtt-stop", daemon=True)
        stopper.start()
        # Not connected, there is nothing left to send: paho's thread, asleep in its reconnect back-off (up to 1 s
        # per nap), is left to the process exit instead of eating the rest of the shutdown budget.
        stopper.join(max(deadline - time.monotonic(), 0.1) if connected else 0.1)

    # --- internals ---------------------------------------------------------------------------------------

    def _count(self, key: str) -> int:
        with self._count_lock:
            self._counts[key] += 1
            return self._counts[key]

    def _unacknowledged(self) -> int:
        with self._count_lock:
            return self._counts["sent"] - self._counts["delivered"] - self._counts["refused"]

    def _encode(self, obj: dict[str, Any], what: str) -> bytes | None:
        try:
            return json.dumps(obj, separators=(",", ":"), allow_nan=False, default=_json).encode()
        except (TypeError, ValueError) as e:
            n = self._count("rejected")
            if n & (n - 1) == 0:  # log the 1st, 2nd, 4th, 8th... so a systematic fault cannot flood the journal
                logger.error("MQTT: %s not sent, it is not valid JSON: %s (%d rejected so far)", what, e, n)
            return None

    def _too_big(self, topic: str, payload: bytes) -> str:
        """Why this message cannot be sent, or ''."""
        limit = self.cfg.max_payload_bytes
        if limit and len(payload) > limit:
            return f"payload of {len(payload)} bytes exceeds mqtt.max_payload_bytes = {limit}"
        size = len(payload) + len(topic.encode()) + PUBLISH_OVERHEAD
        if self._broker_max_packet and size > self._broker_max_packet:
            return f"packet of {size} bytes exceeds the broker's maximum packet size of {self._broker_max_packet}"
        return ""

    def _submit(self, topic: str, payload: bytes, qos: int, retain: bool, queue: bool) -> None:
        why = self._too_big(topic, payload)
        if why:
            n = self._count("rejected")
            if n & (n - 1) == 0:
                logger.warning("MQTT: dropped a message to %s: %s (%d rejected so far)", topic, why, n)
            return
        with self._lock:
            if not self._connected:
                if queue:
                    if len(self._queue) == self._queue.maxlen:  # deque(maxlen) drops the oldest on append
                        n = self._count("dropped")
                        if n & (n - 1) == 0:
                            logger.warning("MQTT: outage queue full (mqtt.queue_size = %d), dropped the oldest "
                                           "result (%d dropped so far)", self.cfg.queue_size, n)
                    self._queue.append((topic, payload, qos, retain))
                return
            info = self.client.publish(topic, payload, qos=qos, retain=retain)
            if info.rc == mqtt.MQTT_ERR_SUCCESS or (info.rc == mqtt.MQTT_ERR_NO_CONN and qos > 0):
                self._count("sent")  # QoS 1/2 wait in paho when the socket just closed and are re-sent on reconnect
            elif info.rc == mqtt.MQTT_ERR_NO_CONN:  # QoS 0 on a socket that just closed: paho has dropped it
                if queue:
                    self._queue.append((topic, payload, qos, retain))
            elif info.rc == mqtt.MQTT_ERR_QUEUE_SIZE:
                n = self._count("dropped")
                if n & (n - 1) == 0:
                    logger.warning("MQTT: broker %s is not acknowledging fast enough (%d messages waiting), dropped "
                                   "a message to %s (%d dropped so far)", self.where, 2 * self.cfg.queue_size, topic, n)
            else:
                self._count("errors")
                logger.warning("MQTT: publish to %s failed: %s", topic, mqtt.error_string(info.rc))

    def _update_state(self, result: dict[str, Any]) -> None:
        fused = result.get("fused") or {}
        emotion, confidence = fused.get("emotion"), float(fused.get("confidence") or 0.0)
        step = self.cfg.state_confidence_step
        with self._lock:
            old = self._state
            if old is not None and old[0] == emotion and (step == 0 or abs(old[1] - confidence) < step):
                return
            self._state = (emotion, confidence)
            self._state_payload = json.dumps({"emotion": emotion, "confidence": round(confidence, 4),
                                              "ts": result.get("ts")}, separators=(",", ":")).encode()
            payload = self._state_payload
        # Not queued: the latest state is re-published on every (re)connect.
        self._submit(self.topics["state"], payload, self.cfg.qos_state, True, queue=False)

    # --- paho callbacks (network thread) -----------------------------------------------------------------

    def _report(self, message: str, level: int = logging.ERROR) -> None:
        """Log a connection problem once, not on every retry; the counters keep the tally."""
        with self._lock:
            repeated, self._last_error = message == self._last_error, message
        if repeated:
            logger.debug("MQTT: %s", message)
        else:
            logger.log(level, "MQTT: %s; retrying every %g-%g s", message, self.cfg.reconnect_min_s,
                       self.cfg.reconnect_max_s)

    def _on_connect(self, client, userdata, flags, reason_code, properties) -> None:
        if reason_code.is_failure:
            self._count("connect_failures")
            hint = ""
            if reason_code.value in BAD_CREDENTIALS:
                hint = " (check mqtt.username and the password from mqtt.password, password_env or password_file)"
            self._report(f"broker {self.where} refused the connection: {reason_code}{hint}")
            return
        n = self._count("connects")
        # All of it under the lock: a result `publish` sends meanwhile waits, so it can neither overtake the queued
        # results nor be followed by this re-publication of an older state (retained: the last one sent wins).
        with self._lock:
            self._connected = True
            self._connected_at = time.monotonic()
            self._last_error = ""
            self._broker_max_packet = int(getattr(properties, "MaximumPacketSize", 0) or 0)
            pending = list(self._queue)
            self._queue.clear()
            logger.info("MQTT: %s %s%s", "connected to" if n == 1 else "reconnected to", self.where,
                        f", sending {len(pending)} queued results" if pending else "")
            self._submit(self.topics["status"], b"online", self.cfg.qos_status, True, queue=False)
            if self.cfg.discovery:
                for topic, payload in discovery_messages(self.cfg.discovery_prefix, self.device_id, self.topics):
                    self._submit(topic, payload.encode(), self.cfg.qos_status, True, queue=False)
            if self._state_payload is not None:  # a broker restarted without persistence has lost it
                self._submit(self.topics["state"], self._state_payload, self.cfg.qos_state, True, queue=False)
            for topic, payload, qos, retain in pending:
                self._submit(topic, payload, qos, retain, queue=True)

    def _on_connect_fail(self, client, userdata) -> None:
        # paho calls this inside its `except OSError` block, so the exception is still the one being handled.
        self._count("connect_failures")
        self._report(*connect_failure(self.cfg, sys.exc_info()[1]))

    def _on_disconnect(self, client, userdata, flags, reason_code, properties) -> None:
        now = time.monotonic()
        with self._lock:
            was, self._connected = self._connected, False
            closing = self._closing
            short = was and now - self._connected_at < FLAP_CONNECTED_S
            if short:
                self._flaps.append(now)
            flapping = len(self._flaps) == FLAP_COUNT and now - self._flaps[0] < FLAP_WINDOW_S
        if not was or closing:
            return
        taken = getattr(reason_code, "value", None) == SESSION_TAKEN_OVER
        if (taken or flapping) and not self._duplicate_told:
            self._duplicate_told = True  # said once; the counters keep the tally
            why = ("the broker says another client took over the session" if taken else
                   f"the broker closed the connection {FLAP_COUNT} times within {FLAP_WINDOW_S:g} s, each soon "
                   "after accepting it")
            logger.warning("MQTT: %s: another client is most likely connected to %s with the same client id %r "
                           "(two devices with mqtt.device_id = %r?); give each device its own mqtt.device_id or "
                           "mqtt.client_id", why, self.where, self.client_id,
                           self.device_id)
        elif not self._duplicate_told:
            logger.warning("MQTT: lost the connection to %s (%s); reconnecting, results wait in a queue of %d",
                           self.where, reason_code, self.cfg.queue_size)
        else:
            logger.debug("MQTT: lost the connection to %s again (%s)", self.where, reason_code)

    def _on_publish(self, client, userdata, mid, reason_code, properties) -> None:
        if reason_code.is_failure:  # MQTT 5 negative PUBACK
            n = self._count("refused")
            logger.warning("MQTT: broker %s refused message %d: %s (%d refused so far)", self.where, mid,
                           reason_code, n)
        else:
            self._count("delivered")
