"""MqttPublisher against a real mosquitto: topics and schema, last will, outage, security, limits."""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from edge.config import ConfigError, MqttConfig
from edge.publish import publisher_class
from mosquitto import MOSQUITTO, Broker, Subscriber, free_port, make_certs, password_file, wait_for

pytestmark = pytest.mark.skipif(not os.path.exists(MOSQUITTO), reason="needs mosquitto: apt-get install mosquitto")

ROOT = Path(__file__).resolve().parent.parent
MqttPublisher = publisher_class("mqtt")
SECRET = "s3cret-Pa55word"


def cfg_for(broker: Broker | int, **kw) -> MqttConfig:
    port = broker if isinstance(broker, int) else broker.port
    base = dict(host="127.0.0.1", port=port, device_id="test-dev", reconnect_min_s=0.1, reconnect_max_s=0.5)
    return MqttConfig(**{**base, **kw})


def result(frame: int, emotion: str | None = "happiness", confidence: float = 0.8, faces: int = 1) -> dict:
    """A result object shaped like the runtime's (schema edge-emotion/result/1)."""
    probs = {"happiness": confidence, "neutral": round(1 - confidence, 3)}
    face = {"box": [10, 20, 110, 140], "score": 0.97, "emotion": emotion, "confidence": confidence, "probs": probs}
    return {"schema": "edge-emotion/result/1", "ts": 1700000000.0 + frame / 10, "frame": frame,
            "faces": [face] * faces, "audio": None, "audio_reason": "silence",
            "fused": {"emotion": emotion, "confidence": confidence, "probs": probs},
            "timing_ms": {"detect": 4.2, "classify": 3.1}}


def payloads(sub: Subscriber, topic: str) -> list:
    return [json.loads(m.payload) for m in sub.on(topic)]


@pytest.fixture
def broker(tmp_path):
    b = Broker(tmp_path / "broker").start()
    yield b
    b.stop()


@pytest.mark.parametrize("protocol", ["3.1.1", "5"])
def test_topics_schema_retained_state_and_discovery(broker, protocol):
    sub = Subscriber(broker)
    pub = MqttPublisher(cfg_for(broker, protocol=protocol, discovery=True))
    t = pub.topics
    assert t == {k: f"edge-emotion/test-dev/{k}" for k in ("status", "emotion", "state", "stats", "events")}
    assert sub.wait_for(lambda: pub.stats()["connected"])  # stats are not queued while disconnected
    sent = [result(1, "happiness", 0.80), result(2, "happiness", 0.82), result(3, "sadness", 0.6)]
    for r in sent:
        pub.publish(r)
    pub.publish_stats({"fps": 9.5, "processed": 3, "dropped": 0})
    assert sub.wait_for(lambda: len(sub.on(t["emotion"])) == 3 and sub.on(t["stats"]))

    assert payloads(sub, t["emotion"]) == sent  # every result, unchanged
    # state only when the fused emotion changes (0.80 -> 0.82 is below state_confidence_step)
    assert payloads(sub, t["state"]) == [{"emotion": "happiness", "confidence": 0.8, "ts": sent[0]["ts"]},
                                         {"emotion": "sadness", "confidence": 0.6, "ts": sent[2]["ts"]}]
    assert payloads(sub, t["stats"]) == [{"fps": 9.5, "processed": 3, "dropped": 0}]
    assert [m.payload for m in sub.on(t["status"])] == [b"online"]
    configs = {m.topic: json.loads(m.payload) for m in sub.messages if m.topic.startswith("homeassistant/")}
    node = "homeassistant/sensor/edge_emotion_test_dev"
    assert set(configs) == {f"{node}/{s}/config" for s in ("emotion", "confidence", "fps")}
    assert configs[f"{node}/emotion/config"]["state_topic"] == t["state"]
    assert configs[f"{node}/fps/config"]["state_topic"] == t["stats"]
    assert all(c["availability_topic"] == t["status"] and c["payload_not_available"] == "offline"
               for c in configs.values())

    # a dashboard that connects later sees status, state and discovery at once (retained)
    late = Subscriber(broker)
    assert late.wait_for(lambda: late.on(t["state"]) and len(late.messages) >= 5)
    assert [(m.payload, m.retain) for m in late.on(t["status"])] == [(b"online", True)]
    assert [json.loads(m.payload)["emotion"] for m in late.on(t["state"])] == ["sadness"]
    assert late.on(t["emotion"]) == []  # results are not retained by default

    stats = pub.stats()
    assert stats["connected"] and stats["results"] == 3 and stats["dropped"] == 0 and stats["rejected"] == 0
    pub.close(2.0)
    assert late.wait_for(lambda: [m.payload for m in late.on(t["status"])][-1:] == [b"offline"])
    sub.close(), late.close()


CHILD = """
import sys, time
from edge.config import MqttConfig
from edge.publish.mqtt import MqttPublisher
pub = MqttPublisher(MqttConfig(host="127.0.0.1", port=int(sys.argv[1]), device_id="child", keepalive_s=60))
deadline = time.monotonic() + 10
while not pub.stats()["connected"]:
    if time.monotonic() > deadline:
        sys.exit("child publisher could not connect: " + pub.stats()["last_error"])
    time.sleep(0.02)
print("connected", flush=True)
frame = 0
while True:
    pub.publish({"frame": frame, "fused": {"emotion": "neutral", "confidence": 0.5}})
    frame += 1
    time.sleep(0.05)
"""


def test_last_will_when_the_process_is_killed(broker):
    sub = Subscriber(broker, "edge-emotion/child/#")
    child = subprocess.Popen([sys.executable, "-c", CHILD, str(broker.port)], stdout=subprocess.PIPE,
                             env={**os.environ, "PYTHONPATH": str(ROOT)}, text=True)
    try:
        assert child.stdout.readline().strip() == "connected"
        status = "edge-emotion/child/status"
        assert sub.wait_for(lambda: len(sub.on("edge-emotion/child/emotion")) >= 3)
        os.kill(child.pid, signal.SIGKILL)  # no clean disconnect: only the broker's last will can say offline
        child.wait(5)
        # keepalive is 60 s: the will must come from the closed socket, not from a keepalive timeout
        assert sub.wait_for(lambda: [m.payload for m in sub.on(status)] == [b"online", b"offline"], timeout=5)
    finally:
        child.kill()
        sub.close()


@pytest.mark.parametrize("protocol", ["3.1.1", "5"])
def test_outage_reconnects_and_loses_no_qos1_result(broker, capsys, protocol):
    # A durable subscriber (clean session off, QoS 1) on a broker with persistence: its queue survives the restart,
    # so every result the broker accepted reaches it, whenever the subscriber itself reconnects.
    sub = Subscriber(broker, "edge-emotion/test-dev/#", client_id="outage-watcher")
    pub = MqttPublisher(cfg_for(broker, protocol=protocol, qos_emotion=1, queue_size=1000))
    assert sub.wait_for(lambda: pub.stats()["connected"])
    sent, slowest, stop = 0, 0.0, threading.Event()

    def produce():  # the inference loop: 50 results per second
        nonlocal sent, slowest
        while not stop.is_set():
            t0 = time.monotonic()
            pub.publish(result(sent))
            slowest = max(slowest, time.monotonic() - t0)
            sent += 1
            time.sleep(0.02)

    producer = threading.Thread(target=produce)
    producer.start()
    time.sleep(1.0)
    broker.stop()
    t_down = time.monotonic()
    time.sleep(3.0)
    queued_in_outage = pub.stats()["queued"]
    broker.start()
    assert sub.wait_for(lambda: pub.stats()["connected"], timeout=5)
    reconnect_s = time.monotonic() - t_down
    time.sleep(1.0)
    stop.set()
    producer.join()

    emotion = "edge-emotion/test-dev/emotion"
    assert sub.wait_for(lambda: len({json.loads(m.payload)["frame"] for m in sub.on(emotion)}) >= sent, timeout=10)
    delivered = {json.loads(m.payload)["frame"] for m in sub.on(emotion)}
    stats = pub.stats()
    with capsys.disabled():
        print(f"\nMQTT {protocol} outage 3.0 s: results sent {sent}, delivered {len(delivered)} (unique), dropped "
              f"{stats['dropped']}, queued during the outage {queued_in_outage}, back online after {reconnect_s:.1f} s, "
              f"slowest publish() {slowest * 1000:.1f} ms")
    assert delivered == set(range(sent))
    assert stats["dropped"] == 0 and stats["connects"] == 2 and queued_in_outage > 0
    assert slowest < 0.25  # publish() never waits for the network
    # status and state are published again on reconnect
    assert [m.payload for m in sub.on("edge-emotion/test-dev/status")].count(b"online") >= 2
    assert len(sub.on("edge-emotion/test-dev/state")) >= 2
    pub.close(2.0)
    sub.close()


def test_starts_with_the_broker_down_and_drops_the_oldest(tmp_path):
    broker = Broker(tmp_path / "broker").start()
    Subscriber(broker, "edge-emotion/test-dev/emotion", client_id="late-watcher").close()  # a durable session
    broker.stop()
    pub = MqttPublisher(cfg_for(broker, queue_size=5))
    for i in range(20):
        pub.publish(result(i))
    time.sleep(0.3)
    stats = pub.stats()
    assert not stats["connected"] and stats["queued"] == 5 and stats["dropped"] == 15
    assert stats["connect_failures"] >= 1
    broker.start()
    sub = Subscriber(broker, "edge-emotion/test-dev/emotion", client_id="late-watcher")
    try:
        assert sub.wait_for(lambda: len(sub.on("edge-emotion/test-dev/emotion")) >= 5)
        time.sleep(0.2)
        assert [json.loads(m.payload)["frame"] for m in sub.on("edge-emotion/test-dev/emotion")] == [15, 16, 17, 18, 19]
        assert pub.stats()["queued"] == 0
    finally:
        pub.close(1.0)
        sub.close()
        broker.stop()


def test_events_topic_queued_through_an_outage(tmp_path):
    """Events go to `events`, QoS 1, not retained, and wait in the outage queue in order with the results."""
    broker = Broker(tmp_path / "broker").start()
    topic = "edge-emotion/test-dev/events"
    Subscriber(broker, topic, client_id="event-watcher").close()  # a durable session keeps what arrives meanwhile
    broker.stop()
    pub = MqttPublisher(cfg_for(broker))
    sent = [{"schema": "edge-emotion/event/1", "type": kind, "ts": 1700000000.0 + i, "track_id": 7,
             "after": {"emotion": "happy", "confidence": 0.7, "since": 1700000000.0, "start": 1700000000.0}}
            for i, kind in enumerate(["new", "update", "end"])]
    for e in sent:
        pub.publish_event(e)
    assert pub.stats()["queued"] == 3
    broker.start()
    sub = Subscriber(broker, topic, client_id="event-watcher")
    try:
        assert sub.wait_for(lambda: len(sub.on(topic)) >= 3)
        assert payloads(sub, topic) == sent
        assert all(m.qos == 1 and not m.retain for m in sub.on(topic))
    finally:
        pub.close(1.0)
        sub.close()
        broker.stop()


def test_a_frozen_broker_neither_blocks_nor_grows_memory(broker):
    sub = Subscriber(broker, "edge-emotion/test-dev/emotion", client_id="frozen-watcher")
    pub = MqttPublisher(cfg_for(broker, queue_size=5, keepalive_s=60))
    try:
        assert sub.wait_for(lambda: pub.stats()["connected"])
        broker.proc.send_signal(signal.SIGSTOP)  # the TCP connection stays up but nothing is acknowledged
        t0 = time.monotonic()
        for i in range(30):
            pub.publish(result(i))
        assert time.monotonic() - t0 < 0.5
        stats = pub.stats()
        # 10 unacknowledged (2 x queue_size) wait in paho: the first state message and 9 results; the rest are
        # dropped and counted. With paho 2.1 on Python 3.8 one more message is sometimes still held when the broker
        # freezes (dropped 22 in 1 of 10 runs and 2 of 5 before; likely the status message sent on connect, not yet
        # acknowledged): then 8 results wait, and they are the first 8.
        assert stats["connected"] and stats["dropped"] in (21, 22), stats
        kept = 30 - stats["dropped"]  # 31 messages (a state and 30 results), the first state among the kept
        broker.proc.send_signal(signal.SIGCONT)
        assert sub.wait_for(lambda: len(sub.on("edge-emotion/test-dev/emotion")) >= kept)
        time.sleep(0.2)
        assert [json.loads(m.payload)["frame"] for m in sub.on("edge-emotion/test-dev/emotion")] == list(range(kept))
    finally:
        broker.proc.send_signal(signal.SIGCONT)
        pub.close(1.0)
        sub.close()


@pytest.fixture(scope="module")
def secure(tmp_path_factory):
    """A broker that wants a user name and password, TLS, and a client certificate signed by its CA."""
    d = tmp_path_factory.mktemp("secure")
    certs = make_certs(d / "certs", names=("ca", "server", "client", "other-ca"))
    pw = password_file(d / "passwd", "edge", SECRET)
    broker = Broker(d / "broker", f"allow_anonymous false\npassword_file {pw}\ncafile {certs['ca']}\n"
                                  f"certfile {certs['server']}\nkeyfile {certs['server_key']}\n"
                                  "require_certificate true\n").start()
    tls = dict(ca_file=str(certs["ca"]), cert_file=str(certs["client"]), key_file=str(certs["client_key"]))
    sub = Subscriber(broker, username="edge", password=SECRET,
                     tls=dict(ca_certs=tls["ca_file"], certfile=tls["cert_file"], keyfile=tls["key_file"]))
    yield broker, sub, tls, certs, d
    sub.close()
    broker.stop()


@pytest.mark.parametrize("source", ["password", "password_env", "password_file"])
def test_password_and_tls_with_client_certificate(secure, source, monkeypatch, caplog):
    broker, sub, tls, _, d = secure
    caplog.set_level(logging.DEBUG)  # paho's packet log included: the password must not appear at any level
    secret = {"password": SECRET, "password_env": "EDGE_TEST_MQTT_PASSWORD", "password_file": str(d / "pw.txt")}
    monkeypatch.setenv("EDGE_TEST_MQTT_PASSWORD", SECRET)
    (d / "pw.txt").write_text(SECRET + "\n")
    device = f"secure-{source.replace('_', '-')}"
    pub = MqttPublisher(cfg_for(broker, device_id=device, username="edge", tls=True, protocol="5",
                                **{source: secret[source]}, **tls))
    pub.publish(result(7))
    topic = f"edge-emotion/{device}/emotion"
    assert sub.wait_for(lambda: sub.on(topic)), pub.stats()["last_error"]
    assert payloads(sub, topic) == [result(7)]
    pub.close(1.0)
    assert "connected to 127.0.0.1" in caplog.text and "over TLS" in caplog.text
    assert SECRET not in caplog.text and SECRET not in repr(pub.stats())


def test_wrong_password_is_reported_once_and_retried(secure, caplog):
    broker, _, tls, _, _ = secure
    caplog.set_level(logging.DEBUG)
    pub = MqttPublisher(cfg_for(broker, username="edge", password="wrong-" + SECRET, tls=True, **tls))
    try:
        deadline = time.monotonic() + 10
        while pub.stats()["connect_failures"] < 3 and time.monotonic() < deadline:
            pub.publish(result(1))  # never raises, results wait in the queue
            time.sleep(0.05)
        stats = pub.stats()
        assert stats["connect_failures"] >= 3 and not stats["connected"] and stats["queued"] > 0
        errors = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
        assert len(errors) == 1, errors  # once, not on every retry
        assert "refused the connection" in errors[0] and "mqtt.username" in errors[0]
        assert "Not authorized" in stats["last_error"] or "Bad user name or password" in stats["last_error"]
        assert SECRET not in caplog.text
    finally:
        pub.close(0.5)


def test_tls_with_an_unknown_ca_gives_a_clear_error(secure, caplog):
    broker, _, tls, certs, _ = secure
    pub = MqttPublisher(cfg_for(broker, username="edge", password=SECRET, tls=True,
                                **{**tls, "ca_file": str(certs["other-ca"])}))
    try:
        assert wait_for(lambda: pub.stats()["connect_failures"] >= 2)
        assert "TLS handshake with 127.0.0.1" in caplog.text and "certificate verify failed" in caplog.text
        assert "mqtt.ca_file" in caplog.text
    finally:
        pub.close(0.5)


@pytest.mark.parametrize("protocol,broker_limit,own_limit", [
    ("3.1.1", "message_size_limit 2048", 2048),  # MQTT 3.1.1 cannot learn the limit: it is configured
    ("5", "max_packet_size 2048", 0),  # MQTT 5: the broker announces its maximum packet size in CONNACK
])
def test_oversized_payload_is_reported_and_dropped(tmp_path, caplog, protocol, broker_limit, own_limit):
    broker = Broker(tmp_path / "broker", broker_limit + "\n").start()
    sub = Subscriber(broker, "edge-emotion/test-dev/emotion")
    pub = MqttPublisher(cfg_for(broker, protocol=protocol, max_payload_bytes=own_limit))
    try:
        assert sub.wait_for(lambda: pub.stats()["connected"])
        big = result(2, faces=40)
        assert len(json.dumps(big)) > 4096
        for r in (result(1), big, result(3)):
            pub.publish(r)
        assert sub.wait_for(lambda: len(sub.on("edge-emotion/test-dev/emotion")) >= 2)
        time.sleep(0.3)
        assert [p["frame"] for p in payloads(sub, "edge-emotion/test-dev/emotion")] == [1, 3]
        stats = pub.stats()
        assert stats["rejected"] == 1 and stats["connects"] == 1 and stats["connected"]  # not fatal, no reconnect
        assert "dropped a message to edge-emotion/test-dev/emotion" in caplog.text
    finally:
        pub.close(0.5)
        sub.close()
        broker.stop()


def test_message_refused_by_the_broker_is_counted(tmp_path, caplog):
    acl = tmp_path / "acl"  # this device may not write its stats topic
    acl.write_text("".join(f"topic readwrite edge-emotion/test-dev/{t}\n" for t in ("status", "emotion", "state")))
    broker = Broker(tmp_path / "broker", f"acl_file {acl}\n").start()
    sub = Subscriber(broker, "edge-emotion/test-dev/emotion")
    pub = MqttPublisher(cfg_for(broker, protocol="5", qos_stats=1))
    try:
        assert sub.wait_for(lambda: pub.stats()["connected"])
        pub.publish_stats({"fps": 1.0})  # MQTT 5 answers with a negative PUBACK (Not authorized)
        pub.publish(result(1))
        assert sub.wait_for(lambda: sub.on("edge-emotion/test-dev/emotion") and pub.stats()["refused"] == 1)
        stats = pub.stats()
        assert stats["connected"] and stats["connects"] == 1
        assert "refused message" in caplog.text and "Not authorized" in caplog.text
    finally:
        pub.close(0.5)
        sub.close()
        broker.stop()


def test_configuration_errors_name_the_key(tmp_path, monkeypatch):
    monkeypatch.delenv("NO_SUCH_VARIABLE", raising=False)
    port = free_port()
    cases = {
        "mqtt.password_env = 'NO_SUCH_VARIABLE'": dict(username="u", password_env="NO_SUCH_VARIABLE"),
        "set only one of mqtt.password, mqtt.password_file": dict(username="u", password="x", password_file="f"),
        "mqtt.username is empty": dict(password="x"),
        "mqtt.password_file = 'missing.txt'": dict(username="u", password_file="missing.txt"),
        "mqtt.ca_file = 'nope.pem': file not found": dict(tls=True, ca_file="nope.pem"),
        "mqtt.device_id = 'a/b'": dict(device_id="a/b"),
        "mqtt.prefix = 'home/#'": dict(prefix="home/#"),
    }
    for expected, kw in cases.items():
        with pytest.raises(ConfigError, match=expected.replace(".", r"\.").replace("(", r"\(")):
            MqttPublisher(cfg_for(port, **kw))
