"""One connection to the [mqtt] broker that publishes and subscribes: asynchronous connect, automatic reconnect,
a retained status with its last will, a bounded outage queue; `publish` never blocks and never raises."""

from __future__ import annotations

import collections
import logging
import socket
import ssl
import sys
import threading
import time
from typing import Any, Callable

import paho.mqtt.client as mqtt

from ..config import MqttConfig
from .client import make_client

logger = logging.getLogger(__name__)

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


def connect_failure(cfg: MqttConfig, error: BaseException | None) -> tuple[str, int]:
    """Why a connection to the [mqtt] broker failed, with the likely fix, and the level to log it at."""
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


class MqttConnection:
    """The device's client of one broker. Publishers send through `publish`; inputs `subscribe` on the same client.

    `status_topic`: announce this client there, retained ("online" on every connect, "offline" at `close` and as the
    last will); None for a client that only subscribes. `on_connect` callbacks run on every (re)connect under `lock`,
    before the messages queued during the outage are sent.
    """

    def __init__(self, cfg: MqttConfig, client_id: str, device_id: str, status_topic: str | None = None) -> None:
        self.cfg, self.client_id, self.device_id, self.status_topic = cfg, client_id, device_id, status_topic
        self.where = f"{cfg.host}:{cfg.port}"
        # `lock` guards the connection flag, the outage queue and what users re-send on connect; it may be held while
        # calling paho (re-entrant: _on_connect holds it around publish). Counters have their own lock because paho
        # calls on_publish while holding its message lock, which `publish` may be waiting for while it holds `lock`.
        self.lock = threading.RLock()
        self._count_lock = threading.Lock()
        self._queue: collections.deque[tuple[str, bytes, int, bool]] = collections.deque(maxlen=cfg.queue_size)
        self._connected = False
        self._closing = False
        self._broker_max_packet = 0  # MQTT 5 CONNACK "Maximum Packet Size"; 0: not announced
        self._counts = dict(sent=0, delivered=0, dropped=0, rejected=0, refused=0, errors=0, connects=0,
                            connect_failures=0)
        self._last_error = ""
        self._connected_at = 0.0  # time.monotonic() of the latest CONNACK
        self._flaps: collections.deque[float] = collections.deque(maxlen=FLAP_COUNT)  # short-lived connections
        self._duplicate_told = False
        self.on_connect: list[Callable[[], None]] = []
        self._connack_timer: threading.Timer | None = None
        self._subscriptions: dict[str, tuple[int, str]] = {}  # topic -> (qos, who subscribed, for the log)
        self._pending_subs: dict[int, tuple[str, str]] = {}  # SUBSCRIBE packet id -> (topic, who)

        will = (status_topic, "offline", cfg.qos_status) if status_topic else None
        self.client = make_client(cfg, client_id, will)
        # While connected, unacknowledged QoS 1/2 messages wait inside paho; bound them too, for a broker that is
        # reachable but too slow. Twice the outage queue, so a full outage queue fits when it is sent on reconnect.
        self.client.max_queued_messages_set(2 * cfg.queue_size)
        self.client.on_connect = self._on_connect
        self.client.on_connect_fail = self._on_connect_fail
        self.client.on_disconnect = self._on_disconnect
        self.client.on_publish = self._on_publish
        self.client.on_subscribe = self._on_subscribe

    def start(self) -> "MqttConnection":
        """Connect in the background: connect_async + loop_start start even when the broker is down, and retry."""
        self.client.connect_async(self.cfg.host, self.cfg.port, keepalive=self.cfg.keepalive_s)
        self.client.loop_start()
        self._connack_timer = threading.Timer(CONNACK_WARN_S, self._no_connack)
        self._connack_timer.daemon = True
        self._connack_timer.start()
        return self

    @property
    def connected(self) -> bool:
        return self._connected

    # --- publishing -------------------------------------------------------------------------------------

    def publish(self, topic: str, payload: bytes, qos: int, retain: bool, queue: bool) -> None:
        """Send now, or keep it in the outage queue (`queue`) while disconnected; never blocks, never raises."""
        why = self._too_big(topic, payload)
        if why:
            n = self.count("rejected")
            if n & (n - 1) == 0:  # log the 1st, 2nd, 4th, 8th... so a systematic fault cannot flood the journal
                logger.warning("MQTT: dropped a message to %s: %s (%d rejected so far)", topic, why, n)
            return
        with self.lock:
            if not self._connected:
                if queue:
                    if len(self._queue) == self._queue.maxlen:  # deque(maxlen) drops the oldest on append
                        n = self.count("dropped")
                        if n & (n - 1) == 0:
                            logger.warning("MQTT: outage queue full (mqtt.queue_size = %d), dropped the oldest "
                                           "result (%d dropped so far)", self.cfg.queue_size, n)
                    self._queue.append((topic, payload, qos, retain))
                return
            info = self.client.publish(topic, payload, qos=qos, retain=retain)
            if info.rc == mqtt.MQTT_ERR_SUCCESS or (info.rc == mqtt.MQTT_ERR_NO_CONN and qos > 0):
                self.count("sent")  # QoS 1/2 wait in paho when the socket just closed and are re-sent on reconnect
            elif info.rc == mqtt.MQTT_ERR_NO_CONN:  # QoS 0 on a socket that just closed: paho has dropped it
                if queue:
                    self._queue.append((topic, payload, qos, retain))
            elif info.rc == mqtt.MQTT_ERR_QUEUE_SIZE:
                n = self.count("dropped")
                if n & (n - 1) == 0:
                    logger.warning("MQTT: broker %s is not acknowledging fast enough (%d messages waiting), dropped "
                                   "a message to %s (%d dropped so far)", self.where, 2 * self.cfg.queue_size, topic, n)
            else:
                self.count("errors")
                logger.warning("MQTT: publish to %s failed: %s", topic, mqtt.error_string(info.rc))

    def _too_big(self, topic: str, payload: bytes) -> str:
        """Why this message cannot be sent, or ''."""
        limit = self.cfg.max_payload_bytes
        if limit and len(payload) > limit:
            return f"payload of {len(payload)} bytes exceeds mqtt.max_payload_bytes = {limit}"
        size = len(payload) + len(topic.encode()) + PUBLISH_OVERHEAD
        if self._broker_max_packet and size > self._broker_max_packet:
            return f"packet of {size} bytes exceeds the broker's maximum packet size of {self._broker_max_packet}"
        return ""

    # --- subscribing ------------------------------------------------------------------------------------

    def subscribe(self, topic: str, qos: int, on_message: Callable[[Any], None], who: str) -> None:
        """Deliver `topic`'s messages to `on_message(message)` (paho's network thread); subscribed again on every
        reconnect, since a clean session forgets it. `who` names the subscriber in the log."""
        self.client.message_callback_add(topic, lambda client, userdata, message: on_message(message))
        with self.lock:
            self._subscriptions[topic] = (qos, who)
            if self._connected:
                self._subscribe(topic)

    def unsubscribe(self, topic: str) -> None:
        with self.lock:
            self._subscriptions.pop(topic, None)
        self.client.message_callback_remove(topic)

    def _subscribe(self, topic: str) -> None:
        qos, who = self._subscriptions[topic]
        _, mid = self.client.subscribe(topic, qos=qos)
        self._pending_subs[mid] = (topic, who)

    # --- figures and shutdown ---------------------------------------------------------------------------

    def count(self, key: str) -> int:
        with self._count_lock:
            self._counts[key] += 1
            return self._counts[key]

    def stats(self) -> dict[str, Any]:
        """Counters (meanings in docs/mqtt.md), plus connected, queued and last_error."""
        with self._count_lock:
            out: dict[str, Any] = dict(self._counts)
        with self.lock:
            out.update(connected=self._connected, queued=len(self._queue), last_error=self._last_error)
        return out

    def _unacknowledged(self) -> int:
        with self._count_lock:
            return self._counts["sent"] - self._counts["delivered"] - self._counts["refused"]

    def close(self, timeout: float = 1.0) -> None:
        """Wait (bounded) for in-flight messages, publish `offline`, disconnect and stop the network thread."""
        if self._closing:
            return
        if self._connack_timer is not None:
            self._connack_timer.cancel()
        deadline = time.monotonic() + timeout
        with self.lock:
            self._closing = True
            connected, left = self._connected, len(self._queue)
        if connected:
            while time.monotonic() < deadline and self._unacknowledged() > 0:
                time.sleep(0.01)
            if self.status_topic:
                info = self.client.publish(self.status_topic, "offline", qos=self.cfg.qos_status, retain=True)
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

    # --- paho callbacks (network thread) -----------------------------------------------------------------

    def _no_connack(self) -> None:
        """A broker that took the TCP connection and never answered CONNECT: say so once, well before shutdown."""
        with self.lock:
            if self._connected or self._closing or self._counts["connects"]:
                return
        if self.client.socket() is None:
            return  # not even TCP: _on_connect_fail says why
        hint = ("a plain-MQTT client on a TLS port? set mqtt.tls = true" if not self.cfg.tls
                else "a frozen broker, or not an MQTT broker on that port")
        waiting = f"; results wait in the queue of {self.cfg.queue_size} meanwhile" if self.status_topic else ""
        logger.warning("MQTT: %s accepted the TCP connection but has not answered CONNECT in %g s (%s)%s",
                       self.where, CONNACK_WARN_S, hint, waiting)

    def _report(self, message: str, level: int = logging.ERROR) -> None:
        """Log a connection problem once, not on every retry; the counters keep the tally."""
        with self.lock:
            repeated, self._last_error = message == self._last_error, message
        if repeated:
            logger.debug("MQTT: %s", message)
        else:
            logger.log(level, "MQTT: %s; retrying every %g-%g s", message, self.cfg.reconnect_min_s,
                       self.cfg.reconnect_max_s)

    def _on_connect(self, client, userdata, flags, reason_code, properties) -> None:
        if reason_code.is_failure:
            self.count("connect_failures")
            hint = ""
            if reason_code.value in BAD_CREDENTIALS:
                hint = " (check mqtt.username and the password from mqtt.password, password_env or password_file)"
            self._report(f"broker {self.where} refused the connection: {reason_code}{hint}")
            return
        n = self.count("connects")
        # All of it under the lock: a message `publish` sends meanwhile waits, so it can neither overtake the queued
        # ones nor be followed by a user's re-publication of an older retained value (the last one sent wins).
        with self.lock:
            self._connected = True
            self._connected_at = time.monotonic()
            self._last_error = ""
            self._broker_max_packet = int(getattr(properties, "MaximumPacketSize", 0) or 0)
            pending = list(self._queue)
            self._queue.clear()
            logger.info("MQTT: %s %s%s", "connected to" if n == 1 else "reconnected to", self.where,
                        f", sending {len(pending)} queued results" if pending else "")
            if self.status_topic:
                self.publish(self.status_topic, b"online", self.cfg.qos_status, True, queue=False)
            for callback in self.on_connect:
                callback()
            for topic in self._subscriptions:
                self._subscribe(topic)
            for topic, payload, qos, retain in pending:
                self.publish(topic, payload, qos, retain, queue=True)

    def _on_connect_fail(self, client, userdata) -> None:
        # paho calls this inside its `except OSError` block, so the exception is still the one being handled.
        self.count("connect_failures")
        self._report(*connect_failure(self.cfg, sys.exc_info()[1]))

    def _on_disconnect(self, client, userdata, flags, reason_code, properties) -> None:
        now = time.monotonic()
        with self.lock:
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
            waiting = f", results wait in a queue of {self.cfg.queue_size}" if self.status_topic else ""
            logger.warning("MQTT: lost the connection to %s (%s); reconnecting%s", self.where, reason_code, waiting)
        else:
            logger.debug("MQTT: lost the connection to %s again (%s)", self.where, reason_code)

    def _on_publish(self, client, userdata, mid, reason_code, properties) -> None:
        if reason_code.is_failure:  # MQTT 5 negative PUBACK
            n = self.count("refused")
            logger.warning("MQTT: broker %s refused message %d: %s (%d refused so far)", self.where, mid,
                           reason_code, n)
        else:
            self.count("delivered")

    def _on_subscribe(self, client, userdata, mid, reason_codes, properties) -> None:
        with self.lock:
            topic, who = self._pending_subs.pop(mid, ("?", "MQTT"))
        if any(rc.is_failure for rc in reason_codes):
            logger.error("%s: the broker refused the subscription to %s (%s); check its ACL", who, topic,
                         ", ".join(map(str, reason_codes)))
        else:
            logger.info("%s: subscribed to %s", who, topic)
