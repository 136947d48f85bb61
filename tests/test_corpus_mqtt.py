"""Adversarial corpus, MQTT (a real mosquitto): a broker that freezes at shutdown, dies, refuses or cannot be
found, and two devices with one host name (every Raspberry Pi is `raspberrypi`).
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import time

import pytest

import corpus_run as cr
from edge.mqtt import device_id
from edge.config import MqttConfig
from edge.publish import publisher_class
from edge.mqtt.settings import client_id, topic_base
from mosquitto import MOSQUITTO, Broker, Subscriber, password_file, wait_for

needs_broker = pytest.mark.skipif(not os.path.exists(MOSQUITTO), reason="needs mosquitto: apt-get install mosquitto")


@pytest.fixture
def broker(tmp_path):
    b = Broker(tmp_path / "broker").start()
    yield b
    if b.proc is not None:
        b.proc.send_signal(signal.SIGCONT)
    b.stop()


def result(i: int) -> dict:
    return {"schema": "edge-emotion/result/1", "ts": 1.0 + i, "frame": i, "faces": [], "audio": None,
            "audio_reason": "silence", "fused": {"emotion": "happy", "confidence": 0.5}}


@needs_broker
def test_results_unacknowledged_by_a_frozen_broker_at_shutdown_are_counted_in_the_log(broker, caplog, corpus):
    """The issue: ~78 QoS 1 results dropped at shutdown with a frozen broker, and no log line."""
    pub = publisher_class("mqtt")(MqttConfig(host="127.0.0.1", port=broker.port, device_id="frozen", keepalive_s=60))
    caplog.set_level(logging.INFO)
    assert wait_for(lambda: pub.stats()["connected"])
    broker.proc.send_signal(signal.SIGSTOP)  # the connection stays up; nothing is acknowledged any more
    for i in range(40):
        pub.publish(result(i))
    t = time.monotonic()
    pub.close(timeout=1.0)
    elapsed = time.monotonic() - t
    line = [r.getMessage() for r in caplog.records if "not acknowledged before shutdown" in r.getMessage()]
    ok = elapsed < cr.STOP_LIMIT_S and len(line) == 1
    corpus("handled" if ok else ("hang" if elapsed >= cr.STOP_LIMIT_S else "crash"), "mqtt", "mqtt:frozen-at-shutdown")
    assert ok, (elapsed, line)
    assert int(line[0].split()[1]) >= 40  # the 40 results (and the state message) sent, never acknowledged


def machine_id_file(path, text):
    path.write_text(text + "\n")
    return str(path)


def test_the_default_device_id_is_stable_and_distinct_per_machine(tmp_path, monkeypatch, corpus):
    """Two Pis with one host name: their machine ids differ, so do their ids; one machine keeps its id."""
    a = machine_id_file(tmp_path / "a", "0123456789abcdef0123456789abcdef")
    b = machine_id_file(tmp_path / "b", "fedcba9876543210fedcba9876543210")
    monkeypatch.setattr(device_id, "MACHINE_ID_FILES", (a,))
    first, again = device_id.default_device_id(), device_id.default_device_id()
    monkeypatch.setattr(device_id, "MACHINE_ID_FILES", (b,))
    other = device_id.default_device_id()
    host = device_id.host_part()
    ok = first == again != other and first.startswith(host + "-") and other.startswith(host + "-")
    ok = ok and "0123456789abcdef" not in first  # only a hash of the machine id is ever shown
    corpus("handled" if ok else "crash", "mqtt", "mqtt:device-id-two-machines")
    assert ok, (first, again, other)


def test_the_device_id_survives_a_restart_and_an_override_still_wins(corpus):
    """A new process (a reboot, as far as the id is concerned) derives the same id; mqtt.device_id overrides it."""
    code = "from edge.mqtt.device_id import default_device_id; print(default_device_id())"
    outs = {subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=cr.ROOT).stdout.strip()
            for _ in range(2)}
    dev, base = topic_base(MqttConfig(device_id="kitchen"))
    ok = outs == {device_id.default_device_id()} and dev == "kitchen" and base == "edge-emotion/kitchen"
    ok = ok and client_id(MqttConfig(), device_id.default_device_id()) == f"edge-emotion-{outs.pop()}"
    corpus("handled" if ok else "crash", "mqtt", "mqtt:device-id-stable")
    assert ok


def test_without_machine_id_or_mac_a_random_id_is_kept(tmp_path, monkeypatch, corpus):
    """A minimal container: no /etc/machine-id, no network card. The id is made once and kept in the state dir."""
    monkeypatch.setattr(device_id, "MACHINE_ID_FILES", (str(tmp_path / "absent"),))
    monkeypatch.setattr(device_id.uuid, "getnode", lambda: (1 << 40) | 12345)  # what uuid returns without a MAC
    state = tmp_path / "state"
    ids = [device_id._digest(device_id.machine_secret(state_dir=str(state))) for _ in range(2)]
    elsewhere = device_id._digest(device_id.machine_secret(state_dir=str(tmp_path / "other")))
    ok = ids[0] == ids[1] != elsewhere and (state / "device-id").is_file()
    corpus("handled" if ok else "crash", "mqtt", "mqtt:device-id-fallback")
    assert ok


@needs_broker
def test_two_devices_with_one_host_name_do_not_knock_each_other_off(broker, tmp_path, monkeypatch, caplog, corpus):
    """The issue: two instances with the default id knocked each other off 12 times in 24 s and shared topics."""
    caplog.set_level(logging.INFO)
    pubs = []
    for name, mid in (("a", "0123456789abcdef0123456789abcdef"), ("b", "fedcba9876543210fedcba9876543210")):
        monkeypatch.setattr(device_id, "MACHINE_ID_FILES", (machine_id_file(tmp_path / name, mid),))
        pubs.append(publisher_class("mqtt")(MqttConfig(host="127.0.0.1", port=broker.port)))
    sub = Subscriber(broker, "edge-emotion/#")
    try:
        assert wait_for(lambda: all(p.stats()["connected"] for p in pubs))
        for i in range(20):
            for p in pubs:
                p.publish(result(i))
            time.sleep(0.05)
        wait_for(lambda: len([m for m in sub.messages if m.topic.endswith("/emotion")]) >= 40)
        topics = {m.topic for m in sub.messages if m.topic.endswith("/emotion")}
        ok = (len(topics) == 2 and all(p.stats()["connects"] == 1 for p in pubs)
              and "lost the connection" not in caplog.text)
    finally:
        for p in pubs:
            p.close(0.5)
        sub.close()
    corpus("handled" if ok else "crash", "mqtt", "mqtt:two-devices-one-host-name")
    assert ok, (topics, [p.stats() for p in pubs], caplog.text[-2000:])


@needs_broker
def test_the_broker_dies_mid_run_and_sigterm_still_stops_in_time(broker, corpus):
    p = cr.spawn(["--source", "sample", "--publisher", "mqtt", "--mqtt-host", "127.0.0.1",
                  "--mqtt-port", str(broker.port)])
    cr.wait_for_log(p, "MQTT: connected")
    broker.proc.kill()  # no goodbye: the connection just drops
    time.sleep(1.5)  # results queue meanwhile
    code, elapsed, err = cr.stop(p)
    result_ = corpus(cr.outcome(code, elapsed, err, ok=(0,)), "mqtt", "mqtt:broker-killed")
    assert result_ == "handled" and "queued results were not sent" in err, (code, elapsed, err)


def _logged_and_ran_on(corpus, args: list, log: str, case: str) -> None:
    """`run ARGS` logs `log`, still gives results, and stops cleanly: a fault reported, the loop unharmed."""
    p = cr.spawn(args)
    lines = cr.wait_for_log(p, log)
    cr.wait_for_log(p, "first result")
    code, elapsed, err = cr.stop(p)
    result_ = corpus(cr.outcome(code, elapsed, err, ok=(0,)), "mqtt", case)
    assert result_ == "handled" and lines, (code, elapsed, err)


def test_an_unresolvable_broker_host_is_reported_and_the_loop_runs_on(corpus):
    _logged_and_ran_on(corpus, ["--source", "sample", "--publisher", "mqtt", "--mqtt-host", "broker.invalid"],
                       "cannot resolve mqtt.host = 'broker.invalid'", "mqtt:unresolvable-host")


@needs_broker
def test_wrong_credentials_are_reported_once_and_the_loop_runs_on(tmp_path, corpus):
    pw = password_file(tmp_path / "passwd", "edge", "right")
    broker = Broker(tmp_path / "broker", f"allow_anonymous false\npassword_file {pw}\n").start()
    cfg = tmp_path / "c.toml"
    cfg.write_text('[video]\nsource = "sample"\n[audio]\nsource = "sample"\n[output]\npublisher = "mqtt"\n'
                   f'[mqtt]\nhost = "127.0.0.1"\nport = {broker.port}\nusername = "edge"\npassword = "wrong"\n'
                   'reconnect_min_s = 0.2\nreconnect_max_s = 0.4\n')
    try:
        p = cr.spawn(["--config", str(cfg)])
        lines = cr.wait_for_log(p, "refused the connection")
        time.sleep(1.5)  # several more attempts
        code, elapsed, err = cr.stop(p)
    finally:
        broker.stop()
    text = "".join(lines) + err
    result_ = corpus(cr.outcome(code, elapsed, err, ok=(0,)), "mqtt", "mqtt:wrong-password")
    assert result_ == "handled" and text.count("refused the connection") == 1, (code, elapsed, text)


# --- brokers that half-answer, clients that say nothing, duplicate ids (the re-audit) -----------------------------

@needs_broker
def test_tls_against_a_plain_port_names_the_likely_cause(broker, caplog, corpus):
    """The issue: "Connection reset by peer" and no hint that TLS is the likely cause."""
    caplog.set_level(logging.INFO)
    pub = publisher_class("mqtt")(MqttConfig(host="127.0.0.1", port=broker.port, device_id="tls", tls=True,
                                             reconnect_min_s=0.2, reconnect_max_s=0.4))
    try:
        told = wait_for(lambda: "most likely a plain MQTT listener" in caplog.text, 15)
        time.sleep(1.0)  # several more attempts: still one line
    finally:
        pub.close(0.5)
    ok = told and caplog.text.count("most likely a plain MQTT listener") == 1
    corpus("handled" if ok else "crash", "mqtt", "mqtt:tls-against-plain-port")
    assert ok, caplog.text[-2000:]


@pytest.mark.parametrize("tls", [False, True], ids=["plain", "tls"])
def test_a_broker_that_accepts_tcp_and_never_sends_connack_is_reported_within_seconds(tls, caplog, corpus):
    """The issue: nothing until shutdown ("99 queued results were not sent")."""
    caplog.set_level(logging.INFO)
    server = cr.SilentServer()
    pub = publisher_class("mqtt")(MqttConfig(host="127.0.0.1", port=server.port, device_id="silent", tls=tls))
    try:
        for i in range(5):
            pub.publish(result(i))
        # said after 5 s; over TLS the handshake itself times out first (paho's 5 s socket timeout)
        phrase = "TLS handshake with 127.0.0.1:%d timed out" % server.port if tls else "has not answered CONNECT"
        told = wait_for(lambda: phrase in caplog.text, 20)
        t = time.monotonic()
        pub.close(1.0)
        elapsed = time.monotonic() - t
    finally:
        server.close()
    ok = told and elapsed < cr.STOP_LIMIT_S and caplog.text.count(phrase) == 1
    corpus("handled" if ok else ("hang" if elapsed >= cr.STOP_LIMIT_S else "crash"), "mqtt",
           f"mqtt:no-connack-{'tls' if tls else 'plain'}")
    assert ok, (elapsed, caplog.text[-2000:])


@needs_broker
@pytest.mark.parametrize("protocol", ["3.1.1", "5"])
def test_two_devices_with_one_device_id_are_told_so(protocol, broker, caplog, corpus):
    """The issue: a dozen unexplained "lost the connection" lines each and 52 online/offline flips."""
    caplog.set_level(logging.INFO)
    pubs = [publisher_class("mqtt")(MqttConfig(host="127.0.0.1", port=broker.port, device_id="kitchen",
                                               protocol=protocol, reconnect_min_s=0.2, reconnect_max_s=0.4))
            for _ in range(2)]
    try:
        told = wait_for(lambda: "same client id 'edge-emotion-kitchen'" in caplog.text, 30)
        time.sleep(1.0)
    finally:
        for p in pubs:
            p.close(0.5)
    lines = [r.getMessage() for r in caplog.records if "same client id" in r.getMessage()]
    lost = [r.getMessage() for r in caplog.records if "lost the connection" in r.getMessage()
            and r.levelno >= logging.WARNING]
    ok = told and len(lines) <= 2 and len(lost) <= 2 * (2 + 1)  # told once per client; a few plain losses first
    corpus("handled" if ok else "crash", "mqtt", f"mqtt:duplicate-device-id-{protocol}")
    assert ok, (lines, lost, caplog.text[-2000:])


@needs_broker
def test_run_with_tls_against_a_plain_port_runs_on_and_stops_in_time(broker, corpus):
    cfg = broker.dir / "tls.toml"
    cfg.write_text('[video]\nsource = "sample"\n[audio]\nsource = "sample"\n[output]\npublisher = "mqtt"\n'
                   f'[mqtt]\nhost = "127.0.0.1"\nport = {broker.port}\ntls = true\n')
    _logged_and_ran_on(corpus, ["--config", str(cfg)], "most likely a plain MQTT listener",
                       "mqtt:run-tls-against-plain-port")


@needs_broker
def test_the_text_subscriber_names_tls_against_a_plain_port_too(broker, corpus):
    """Texts from MQTT with the publisher on stdout: the subscriber's own connection gets the same hint."""
    cfg = broker.dir / "text-tls.toml"
    cfg.write_text('[video]\nsource = "none"\n[audio]\nsource = "none"\n[text]\nsource = "mqtt"\n'
                   f'[mqtt]\nhost = "127.0.0.1"\nport = {broker.port}\ntls = true\n')
    p = cr.spawn(["--config", str(cfg)])
    lines = cr.wait_for_log(p, "most likely a plain MQTT listener")
    code, elapsed, err = cr.stop(p)
    text = "".join(lines) + err
    result_ = corpus(cr.outcome(code, elapsed, err, ok=(0,)), "mqtt", "mqtt:text-subscriber-tls-against-plain-port")
    assert result_ == "handled" and text.count("most likely a plain MQTT listener") == 1, (code, elapsed, text)
