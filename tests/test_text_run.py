"""Text in `run` and `infer` end to end: stdin lines, an MQTT topic on a real mosquitto, text files, fusion with faces."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest

from tests.mosquitto import MOSQUITTO, Broker, Subscriber, wait_for

ROOT = Path(__file__).resolve().parents[1]
CMD = [sys.executable, "-m", "edge.cli"]

needs_mosquitto = pytest.mark.skipif(shutil.which("mosquitto") is None and not Path(MOSQUITTO).exists(),
                                     reason="mosquitto not installed (Debian package mosquitto)")


def results(stdout: str) -> list[dict]:
    return [json.loads(line) for line in stdout.splitlines()]


def test_stdin_lines_each_get_a_result_and_bad_ones_a_reason():
    lines = [b"I love this, thank you so much!", b"", b"   ", "caf\u00e9 au lait".encode("latin-1"),
             b"I am so happy today. " * 50, "Ich habe mich heute sehr \u00fcber das Geschenk gefreut.".encode(),
             b"\x00\x01\x02binary"]
    p = subprocess.run(CMD + ["run", "--no-video", "--no-audio", "--text", "-"], input=b"\n".join(lines) + b"\n",
                       capture_output=True, cwd=ROOT, timeout=60)
    assert p.returncode == 0, p.stderr.decode()
    out = results(p.stdout.decode())
    texts = [r["text"] for r in out]
    assert len(out) == 5  # one per non-empty line, in order; the loop ends with stdin
    assert texts[0]["emotion"] == "happy" and texts[0]["language_supported"] and "age_s" in texts[0]
    assert out[0]["fused"]["sources"] == ["text"] and out[0]["audio_reason"] == "audio off"
    assert texts[1]["emotion"] is None and "not UTF-8" in texts[1]["reason"]
    assert texts[2]["emotion"] == "happy" and texts[2]["truncated"] and texts[2]["tokens"] == 64
    assert texts[3]["emotion"] is None and not texts[3]["language_supported"] and "English" in texts[3]["reason"]
    assert texts[4]["emotion"] is None and "binary" in texts[4]["reason"]
    assert all(r["timing_ms"]["text_classify"] > 0 for r in out)
    assert b"text from stdin line 4: not UTF-8" in p.stderr  # a one-line warning names the input


def test_text_fuses_with_faces_and_goes_stale(tmp_path):
    cfg = tmp_path / "text.toml"
    cfg.write_text('[video]\nsource = "sample"\nrealtime = false\n[audio]\nsource = "none"\n'
                   '[fusion]\ntext_max_age_s = 30.0\n')
    p = subprocess.run(CMD + ["run", "--config", str(cfg), "--text", "-"], input=b"This is disgusting, gross.\n",
                       capture_output=True, cwd=ROOT, timeout=120)
    assert p.returncode == 0, p.stderr.decode()
    out = results(p.stdout.decode())
    assert len(out) == 240  # the video drives the loop: one result per frame, text or not
    with_text = [r for r in out if r["text"] is not None]
    assert with_text and all(r["text"]["emotion"] == "disgust" for r in with_text)
    both = [r for r in with_text if r["faces"]]
    assert both and all(r["fused"]["sources"] == ["face", "text"] for r in both)
    cfg.write_text(cfg.read_text().replace("text_max_age_s = 30.0", "text_max_age_s = 0.0"))
    p = subprocess.run(CMD + ["run", "--config", str(cfg), "--text", "-"], input=b"This is disgusting, gross.\n",
                       capture_output=True, cwd=ROOT, timeout=120)
    out = results(p.stdout.decode())
    assert all("text" not in r["fused"]["sources"] for r in out[5:])  # stale at once: never fused after it arrived
    assert {r["text_reason"] for r in out[5:]} == {"no recent text"}


def _texts_client_when_subscribed(proc: subprocess.Popen, client: mqtt.Client, broker: Broker) -> None:
    """Wait for `run --text mqtt` to log its subscription, then connect the client that sends the texts."""
    err = b""
    deadline = time.monotonic() + 30
    os.set_blocking(proc.stderr.fileno(), False)
    while b"text: subscribed to hermes/asr/textCaptured" not in err and time.monotonic() < deadline:
        err += proc.stderr.read() or b""
        time.sleep(0.05)
    assert b"subscribed" in err, err.decode()
    client.connect("127.0.0.1", broker.port)
    client.loop_start()


@needs_mosquitto
def test_mqtt_topic_hermes_payloads_plain_text_and_bad_payloads(tmp_path):
    broker = Broker(tmp_path / "broker").start()
    proc = subprocess.Popen(CMD + ["run", "--no-video", "--no-audio", "--text", "mqtt", "--mqtt-port", str(broker.port),
                                   "--mqtt-host", "127.0.0.1"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=ROOT)
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2)
    try:
        _texts_client_when_subscribed(proc, client, broker)
        topic = "hermes/asr/textCaptured"
        hermes = {"text": "i am so angry about this stupid delay", "likelihood": 0.92, "seconds": 2.1,
                  "siteId": "kitchen", "sessionId": "a1", "wakewordId": "default", "asrTokens": None}
        for payload in (json.dumps(hermes).encode(), "thank you, that's wonderful news!".encode(),
                        b'{"transcript": "no text field"}', "d\u00e9j\u00e0 vu".encode("latin-1")):
            client.publish(topic, payload, qos=1).wait_for_publish(5)
        lines: list[dict] = []
        os.set_blocking(proc.stdout.fileno(), False)
        buf = b""

        def four() -> bool:
            nonlocal buf
            buf += proc.stdout.read() or b""
            lines[:] = [json.loads(x) for x in buf.splitlines() if x.strip()]
            return len(lines) >= 4

        assert wait_for(four, 30), buf.decode()
        texts = [r["text"] for r in lines[:4]]
        assert texts[0]["emotion"] == "angry" and lines[0]["fused"]["emotion"] == "angry"
        assert texts[1]["emotion"] == "happy"
        assert texts[2]["emotion"] is None and "`text` field" in texts[2]["reason"]
        assert texts[3]["emotion"] is None and "not UTF-8" in texts[3]["reason"]
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(10) == 0
    finally:
        client.loop_stop()
        proc.kill()
        broker.stop()


@needs_mosquitto
def test_texts_and_results_on_one_broker_share_one_client(tmp_path):
    """Texts from MQTT and results to MQTT: one client per broker (issue 23), which subscribes and publishes."""
    broker = Broker(tmp_path / "broker").start()
    cfg = tmp_path / "one.toml"
    cfg.write_text('[video]\nsource = "none"\n[audio]\nsource = "none"\n[text]\nsource = "mqtt"\n'
                   '[output]\npublisher = "mqtt"\n'
                   f'[mqtt]\nhost = "127.0.0.1"\nport = {broker.port}\ndevice_id = "one"\n')
    sub = Subscriber(broker, "edge-emotion/one/emotion")
    proc = subprocess.Popen(CMD + ["run", "--config", str(cfg)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            cwd=ROOT)
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2)
    try:
        _texts_client_when_subscribed(proc, client, broker)
        client.publish("hermes/asr/textCaptured", b"i am so angry about this stupid delay", qos=1).wait_for_publish(5)
        assert wait_for(lambda: [json.loads(m.payload)["text"]["emotion"]
                                 for m in sub.on("edge-emotion/one/emotion")] == ["angry"], 30)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(10) == 0
        ids = [line.split(" as ")[1].split()[0] for line in broker.log.read_text().splitlines()
               if "New client connected" in line and " as edge-emotion-" in line]
        assert ids == ["edge-emotion-one"], ids
    finally:
        client.loop_stop()
        sub.close()
        proc.kill()
        broker.stop()


def test_infer_text_file_lines_and_sentences(tmp_path):
    notes = tmp_path / "notes.txt"
    notes.write_text("What a lovely surprise, thank you!\n\n   \nThat was terrifying, I was so scared.\n")
    latin = tmp_path / "latin.txt"
    latin.write_bytes("tr\u00e8s bien".encode("latin-1"))
    p = subprocess.run(CMD + ["infer", str(notes), str(latin), "--text", "I can't believe this happened"],
                       capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert p.returncode == 0, p.stderr
    out = results(p.stdout)
    assert [r["input"] for r in out] == [f"{notes}:1", f"{notes}:4", str(latin), "I can't believe this happened"]
    assert out[0]["text"]["emotion"] in ("happy", "surprise") and out[1]["text"]["emotion"] == "fear"
    assert out[0]["faces"] == [] and out[0]["audio_reason"] == "no audio input"
    assert "not UTF-8" in out[2]["error"]
    assert out[3]["text"]["emotion"] is not None and out[3]["fused"]["sources"] == ["text"]


def test_infer_with_context_mixes_the_previous_line_of_the_file(tmp_path):
    notes = tmp_path / "dialogue.txt"
    notes.write_text("I am so scared, please help me.\nOkay.\n")
    cfg = tmp_path / "context.toml"
    cfg.write_text("[text]\ncontext = 0.5\n")
    runs = {}
    for name, extra in (("off", []), ("on", ["--config", str(cfg)])):
        p = subprocess.run(CMD + ["infer", str(notes), *extra], capture_output=True, text=True, cwd=ROOT, timeout=60)
        assert p.returncode == 0, p.stderr
        runs[name] = [r["text"] for r in results(p.stdout)]
    assert [t["context"] for t in runs["off"]] == [False, False]  # off by default
    assert [t["context"] for t in runs["on"]] == [False, True]  # the first line has no previous one
    off, on = runs["off"], runs["on"]
    assert on[0]["probs"] == off[0]["probs"]
    assert on[1]["probs"]["fear"] == pytest.approx(0.5 * off[1]["probs"]["fear"] + 0.5 * off[0]["probs"]["fear"],
                                                   abs=2e-4)
