"""Adversarial corpus, text: long and hostile texts through every text source (stdin lines, MQTT payloads), and the
inbox that holds them. Every text is cut to its byte limit on arrival, before any per-character work; the loop is
never held for long; what is cut or dropped is flagged, counted and logged; stops stay within 2 s.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.request

import paho.mqtt.client as mqtt
import pytest

import corpus_run as cr
from edge.capture.text_inbox import INBOX_MAX_BYTES, TextInbox, text_byte_limit, utf8_head
from edge.capture.text import payload_text
from mosquitto import MOSQUITTO, Broker, free_port

needs_broker = pytest.mark.skipif(not os.path.exists(MOSQUITTO), reason="needs mosquitto: apt-get install mosquitto")

BIG = 50 * 1000 * 1000  # the 50 MB text
PEAK_RSS_MB = 400  # the README's limit for any single input
# A text's own classification (cut to text.max_chars) takes ~1 ms here; one frame of the demo clip is 100 ms. The
# bound is loose for a loaded 2-core machine; before the fix the 50 MB text took 8 s.
CLASSIFY_LIMIT_MS = 500.0
RESULT_TIMEOUT_S = 90.0


class TextRun:
    """`edge-emotion run` with a text source, as a real process: bytes in, JSON results and log lines out."""

    def __init__(self, args: list[str]) -> None:
        video = [] if "--source" in args else ["--no-video", "--no-audio"]
        self.p = subprocess.Popen([sys.executable, "-m", "edge.cli", "run", *video, *args],
                                  stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=cr.ROOT)
        self.results: list[dict] = []
        self.log: list[str] = []
        self.peak_kb = 0
        threading.Thread(target=self._read_out, daemon=True).start()
        threading.Thread(target=self._read_err, daemon=True).start()

    def _read_out(self) -> None:
        for line in self.p.stdout:
            self.results.append(json.loads(line))

    def _read_err(self) -> None:
        for line in self.p.stderr:
            self.log.append(line.decode(errors="replace"))

    def write(self, data: bytes) -> threading.Thread:
        """Write in a thread (a 50 MB write blocks until the process has read it)."""
        def run():
            try:
                self.p.stdin.write(data)
                self.p.stdin.flush()
            except (BrokenPipeError, ValueError):
                pass
        t = threading.Thread(target=run, daemon=True)
        t.start()
        return t

    def wait_for(self, predicate, timeout: float = RESULT_TIMEOUT_S) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self._sample_rss()
            if predicate():
                return True
            time.sleep(0.05)
        return bool(predicate())

    def _sample_rss(self) -> None:
        try:
            with open(f"/proc/{self.p.pid}/status") as f:
                for line in f:
                    if line.startswith("VmHWM:"):
                        self.peak_kb = max(self.peak_kb, int(line.split()[1]))
        except OSError:
            pass

    def logged(self, text: str) -> bool:
        return any(text in line for line in self.log)

    def stop(self, sig: int = signal.SIGTERM) -> tuple[int | None, float, str]:
        self._sample_rss()
        t = time.monotonic()
        self.p.send_signal(sig)
        try:
            code = self.p.wait(10)
        except subprocess.TimeoutExpired:
            self.p.kill()
            self.p.wait()
            code = None
        elapsed = time.monotonic() - t
        time.sleep(0.1)  # the reader threads take the last lines
        try:
            self.p.stdin.close()
        except OSError:
            pass
        return code, elapsed, "".join(self.log)


def texts(run: TextRun) -> list[dict]:
    return [r["text"] for r in run.results if r.get("text") is not None]


def test_a_50_mb_line_on_stdin_is_cut_and_the_texts_after_it_are_all_classified(corpus):
    """The issue: 8 s without a result, 18 of 21 later texts never classified, 490 MB peak."""
    run = TextRun(["--text", "-"])
    run.write(b"I am so happy today! " * (BIG // 21) + b"\n" + b"".join(b"This is disgusting, gross %d.\n" % i
                                                                       for i in range(21)))
    ok = run.wait_for(lambda: len(texts(run)) >= 22)
    code, elapsed, err = run.stop()
    got = texts(run)
    outcome = cr.outcome(code, elapsed, err, ok=(0,))
    ok = ok and outcome == "handled" and got[0]["truncated"] and got[0]["emotion"] == "happy"
    ok = ok and all(t["emotion"] == "disgust" for t in got[1:22]) and run.peak_kb / 1024 < PEAK_RSS_MB
    ok = ok and run.results[0]["timing_ms"]["text_classify"] < CLASSIFY_LIMIT_MS and "cut to the first" in err
    corpus(outcome if ok or outcome != "handled" else "crash", "text", "text:stdin-50-mb-line-then-21-texts")
    assert ok, (len(got), run.peak_kb, run.results[:1], err[-2000:])


# The largest gap allowed between processed frames while the 50 MB text arrives: the issue measured 8 s; a frame of
# the demo clip is 100 ms and this shared 2-core machine's soak saw gaps up to 1.5 s with no text at all.
MAX_GAP_S = 3.0


def test_a_50_mb_line_does_not_stall_the_camera_loop(corpus):
    """The issue: 8 s without a result with the camera on, and the text's own result said "no recent text"."""
    run = TextRun(["--source", "sample", "--text", "-"])
    run.wait_for(lambda: len(run.results) >= 5, 60)
    writer = run.write(b"I am so happy today! " * (BIG // 21) + b"\n")
    ok = run.wait_for(lambda: len(texts(run)) >= 20, RESULT_TIMEOUT_S)  # 2 s of frames after it
    writer.join(30)
    code, elapsed, err = run.stop()
    frames = [r for r in run.results if r.get("frame") is not None]
    gaps = [b["ts"] - a["ts"] for a, b in zip(frames, frames[1:]) if b["frame"] > a["frame"]]  # one pass of the clip
    got = [r for r in run.results if r.get("text") is not None]
    print(f"50 MB line with the camera on: {len(frames)} frames, largest gap {max(gaps or [0]):.2f} s, "
          f"text classified in {max([r['timing_ms']['text_classify'] for r in got] or [0]):.1f} ms")
    outcome = cr.outcome(code, elapsed, err, ok=(0,))
    ok = ok and outcome == "handled" and got[0]["text"]["truncated"] and got[0]["text"]["emotion"] == "happy"
    ok = ok and max(gaps) < MAX_GAP_S and max(r["timing_ms"]["text_classify"] for r in got) < CLASSIFY_LIMIT_MS
    corpus(outcome if ok or outcome != "handled" else "crash", "text", "text:stdin-50-mb-line-camera-on")
    assert ok, (max(gaps) if gaps else None, got[:1], err[-2000:])


def test_a_50_mb_json_text_on_stdin_is_cut_and_its_text_field_read(corpus):
    run = TextRun(["--text", "-"])
    run.write(b'{"text": "' + b"what a wonderful day " * (BIG // 21) + b'"}\n')
    ok = run.wait_for(lambda: len(texts(run)) >= 1)
    code, elapsed, err = run.stop()
    got = texts(run)
    outcome = cr.outcome(code, elapsed, err, ok=(0,))
    ok = ok and outcome == "handled" and got[0]["truncated"] and got[0]["emotion"] is not None
    corpus(outcome if ok or outcome != "handled" else "crash", "text", "text:stdin-50-mb-json")
    assert ok, (got, err[-2000:])


STDIN_CASES = [  # (case, line, what its result must show)
    ("binary", b"\x00\x01\x02\x03 not text", lambda t: t["emotion"] is None and "binary" in t["reason"]),
    ("invalid-utf8", b"caf\xe9 cr\xe8me", lambda t: t["emotion"] is None and "not UTF-8" in t["reason"]),
    ("control-characters", bytes(range(1, 9)) * 20,
     lambda t: t["emotion"] is None and "control characters" in t["reason"]),
    ("json-without-text", b'{"transcript": "hello"}', lambda t: t["emotion"] is None and "`text` field" in t["reason"]),
    # 120 kB of emoji: cut between two of them (never inside one), so the text stays valid UTF-8
    ("utf8-cut-at-the-byte-limit", "\U0001F600".encode() * 30000,
     lambda t: t["truncated"] and "UTF-8" not in t.get("reason", "")),
    ("crlf-line", b"I am really scared of the dark\r", lambda t: t["emotion"] is not None),
]


@pytest.mark.parametrize("case,line,check", STDIN_CASES, ids=[c[0] for c in STDIN_CASES])
def test_hostile_stdin_lines_get_a_reason_and_the_next_text_its_emotion(case, line, check, corpus):
    run = TextRun(["--text", "-"])
    run.write(line + b"\nThank you, I love it!\n")
    ok = run.wait_for(lambda: len(texts(run)) >= 2)
    code, elapsed, err = run.stop()
    got = texts(run)
    outcome = cr.outcome(code, elapsed, err, ok=(0,))
    ok = ok and outcome == "handled" and check(got[0]) and got[1]["emotion"] == "happy"
    corpus(outcome if ok or outcome != "handled" else "crash", "text", f"text:stdin-{case}")
    assert ok, (got, err[-2000:])


def test_stdin_that_closes_at_once_ends_the_loop_cleanly(corpus):
    p = subprocess.run([sys.executable, "-m", "edge.cli", "run", "--no-video", "--no-audio", "--text", "-"],
                       stdin=subprocess.DEVNULL, capture_output=True, text=True, cwd=cr.ROOT, timeout=120)
    outcome = cr.outcome(p.returncode, 0.0, p.stderr, ok=(0,))
    corpus(outcome, "text", "text:stdin-closed-at-once")
    assert outcome == "handled" and p.stdout == "", p.stderr


# --- MQTT payloads (a real mosquitto) ----------------------------------------------------------------------------

@pytest.fixture
def broker(tmp_path):
    b = Broker(tmp_path / "broker").start()
    yield b
    b.stop()


def mqtt_run(broker, *extra: str) -> TextRun:
    run = TextRun(["--text", "mqtt", "--text-topic", "test/text", "--mqtt-host", "127.0.0.1",
                   "--mqtt-port", str(broker.port), *extra])
    assert run.wait_for(lambda: run.logged("text: subscribed to test/text"), 60), "".join(run.log)
    return run


def send(broker, payloads: list[bytes], qos: int = 1) -> None:
    c = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2)
    c.connect("127.0.0.1", broker.port)
    c.loop_start()
    try:
        for payload in payloads:
            c.publish("test/text", payload, qos=qos).wait_for_publish(60)
    finally:
        c.disconnect()
        c.loop_stop()


@needs_broker
@pytest.mark.parametrize("kind", ["plain", "json"])
def test_a_50_mb_mqtt_payload_is_cut_and_the_next_text_classified(kind, broker, corpus):
    run = mqtt_run(broker)
    body = b"I am so happy today! " * (BIG // 21)
    big = body if kind == "plain" else b'{"siteId": "kitchen", "text": "' + body + b'"}'
    send(broker, [big, b'{"text": "This is disgusting, gross."}'])
    ok = run.wait_for(lambda: len(texts(run)) >= 2)
    code, elapsed, err = run.stop()
    got = texts(run)
    outcome = cr.outcome(code, elapsed, err, ok=(0,))
    ok = ok and outcome == "handled" and got[0]["truncated"] and got[0]["emotion"] == "happy"
    ok = ok and got[1]["emotion"] == "disgust" and run.results[0]["timing_ms"]["text_classify"] < CLASSIFY_LIMIT_MS
    corpus(outcome if ok or outcome != "handled" else "crash", "text", f"text:mqtt-50-mb-{kind}")
    assert ok, (got, err[-2000:])


@needs_broker
def test_a_flood_of_mqtt_texts_drops_the_oldest_counted_and_logged(broker, tmp_path, corpus):
    """The inbox holds text.queue_size texts; a burst beyond it drops the oldest, says so, and /metrics counts it."""
    port = free_port()
    cfg = tmp_path / "c.toml"
    cfg.write_text('[text]\nqueue_size = 5\n[http]\nenabled = true\nport = %d\n' % port)
    run = mqtt_run(broker, "--config", str(cfg))
    send(broker, [b"I am happy %d" % i for i in range(400)], qos=0)
    ok = run.wait_for(lambda: run.logged("text inbox full"), 60)
    time.sleep(1.0)
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as r:
        metrics = r.read().decode()
    code, elapsed, err = run.stop()
    outcome = cr.outcome(code, elapsed, err, ok=(0,))
    dropped = [line for line in metrics.splitlines() if 'kind="texts_dropped"' in line]
    ok = ok and outcome == "handled" and dropped and float(dropped[0].split()[-1]) > 0
    corpus(outcome if ok or outcome != "handled" else "crash", "text", "text:mqtt-flood-drops-counted")
    assert ok, (dropped, err[-2000:])


@needs_broker
def test_binary_and_empty_mqtt_payloads_get_a_reason(broker, corpus):
    run = mqtt_run(broker)
    send(broker, [b"\x00" * 1000, b"   ", b"\xff\xfe\xfd", b"I love you"])
    ok = run.wait_for(lambda: len(texts(run)) >= 4)
    code, elapsed, err = run.stop()
    got = texts(run)
    outcome = cr.outcome(code, elapsed, err, ok=(0,))
    ok = ok and outcome == "handled" and [t["emotion"] for t in got[:3]] == [None] * 3 and got[3]["emotion"] == "happy"
    corpus(outcome if ok or outcome != "handled" else "crash", "text", "text:mqtt-binary-empty-invalid")
    assert ok, (got, err[-2000:])


# --- the inbox and the cut, in-process ---------------------------------------------------------------------------

def test_the_inbox_is_bounded_by_bytes_as_well_as_by_count(corpus):
    limit = text_byte_limit(2000)
    inbox = TextInbox(100000, limit)
    for i in range(1000):  # 1000 texts of the byte limit: 64 MB offered
        inbox.put(b"x" * (limit * 2), f"test {i}")
    ok = inbox.bytes <= INBOX_MAX_BYTES and inbox.cut == 1000 and inbox.dropped == 1000 - len(inbox)
    ok = ok and inbox.get().size == limit * 2
    corpus("handled" if ok else "crash", "text", "text:inbox-byte-bound")
    assert ok, (inbox.bytes, inbox.cut, inbox.dropped, len(inbox))


def test_a_cut_never_splits_a_utf8_sequence_and_a_cut_json_keeps_its_text(corpus):
    emoji = "\U0001F600".encode()
    heads = [utf8_head(emoji * 10, n) for n in range(41)]
    ok = all(len(h) % 4 == 0 and h.decode() is not None for h in heads)
    cut = b'{"text": "caf\\u00e9 ' + b"x" * 100
    ok = ok and payload_text(cut[:30], cut=True).startswith("caf\u00e9") and payload_text(b'"abc', cut=True) == "abc"
    corpus("handled" if ok else "crash", "text", "text:utf8-and-json-cut")
    assert ok
