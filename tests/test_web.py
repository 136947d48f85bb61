"""The device's web server on real sockets: page, MJPEG, API, metrics, health, token, privacy, limits, shutdown.

The live state is fed the demo clip's real frames by a thread, as the pipeline would feed it.
"""

from __future__ import annotations

import http.client
import json
import os
import socket
import threading
import time

import cv2
import numpy as np
import pytest

from edge import config, paths
from edge.config import ConfigError
from edge.web.live import LiveState, publisher_collector
from edge.web.server import LiveServer
from mosquitto import MOSQUITTO, Broker, free_port, wait_for

TOKEN = "t0ken-for-the-tests-0123456789"


class Feeder(threading.Thread):
    """Plays the demo clip into a LiveState at ~20 frames a second, like the pipeline's loop."""

    def __init__(self, live: LiveState, stop: threading.Event) -> None:
        super().__init__(daemon=True)
        self.live, self.stop = live, stop

    def run(self) -> None:
        cap = cv2.VideoCapture(str(paths.SAMPLE_VIDEO))
        i = 0
        while not self.stop.is_set():
            ok, image = cap.read()
            if not ok:
                cap.set(cv2.CAP_PROP_POS_FRAMES, 0)
                continue
            face = {"box": [200, 120, 150, 150], "score": 0.9, "emotion": "happy", "confidence": 0.8,
                    "probs": {"happy": 0.8, "neutral": 0.2}, "track_id": 1}
            self.live.update(image, {"schema": "edge-emotion/result/1", "ts": time.time(), "frame": i,
                                     "faces": [face], "fused": {"emotion": "happy", "confidence": 0.8},
                                     "timing_ms": {"detect": 1.5, "classify": 0.4, "audio_features": 0.0},
                                     "dropped_frames": 0})
            i += 1
            self.stop.wait(0.05)
        cap.release()


def http_config(**kw) -> config.HttpConfig:
    base = dict(enabled=True, host="127.0.0.1", port=free_port())
    return config.HttpConfig(**{**base, **kw})


@pytest.fixture
def server_factory():
    made = []

    def make(feed: bool = True, **kw):
        stop = threading.Event()
        live = LiveState()
        srv = LiveServer(http_config(**kw), live, stop).start()
        if feed:
            Feeder(live, stop).start()
        made.append((srv, stop))
        return srv

    yield make
    for srv, stop in made:
        stop.set()
        srv.close(1.0)


def get(srv: LiveServer, path: str, headers: dict | None = None) -> http.client.HTTPResponse:
    conn = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=5)
    conn.request("GET", path, headers=headers or {})
    return conn.getresponse()


def mjpeg_parts(resp: http.client.HTTPResponse, n: int) -> list[bytes]:
    """The first `n` JPEG pictures of a multipart/x-mixed-replace response."""
    out = []
    while len(out) < n:
        line = resp.fp.readline()
        if line.lower().startswith(b"content-length:"):
            length = int(line.split(b":")[1])
            resp.fp.readline()  # the blank line after the part's headers
            out.append(resp.fp.read(length))
    return out


def test_page_api_health_and_stream(server_factory):
    srv = server_factory(feed=False)
    assert get(srv, "/healthz").status == 503  # nothing processed yet: "starting"
    Feeder(srv.live, srv.stop).start()
    assert wait_for(lambda: get(srv, "/healthz").status == 200, 5)
    page = get(srv, "/")
    body = page.read().decode()
    assert page.status == 200 and "app.js" in body and 'name="viewport"' in body
    assert "default-src 'self'" in page.getheader("Content-Security-Policy")
    assert get(srv, "/app.js").status == 200 and get(srv, "/app.css").status == 200
    latest = json.loads(get(srv, "/api/latest").read())
    assert latest["frame_size"] == [640, 480] and latest["stream"] is True and latest["faces"][0]["track_id"] == 1
    assert wait_for(lambda: len(json.loads(get(srv, "/api/timeline").read())["points"]) >= 2, 5)

    assert srv.stream.frames == 0  # nobody watched yet: nothing was encoded
    resp = get(srv, "/stream.mjpg")
    assert resp.status == 200 and resp.getheader("Content-Type").startswith("multipart/x-mixed-replace")
    t0 = time.monotonic()
    pictures = [cv2.imdecode(np.frombuffer(j, np.uint8), cv2.IMREAD_COLOR) for j in mjpeg_parts(resp, 6)]
    elapsed = time.monotonic() - t0
    assert all(p is not None and p.shape == (480, 640, 3) for p in pictures)
    assert any(np.abs(a.astype(int) - b).mean() > 1 for a, b in zip(pictures, pictures[1:]))  # the picture moves
    assert elapsed >= 5 / 5.0 * 0.8  # 6 pictures at the 5 per second cap take about a second, not 0.3 s
    resp.close()
    assert wait_for(lambda: srv.stream.viewers == 0, 3)
    encoded = srv.stream.frames
    time.sleep(0.6)
    assert srv.stream.frames <= encoded + 1  # the viewer left: encoding stops
    assert get(srv, "/nope").status == 404


@pytest.mark.skipif(not os.path.exists(MOSQUITTO), reason="needs mosquitto: apt-get install mosquitto")
def test_metrics_parse_as_prometheus_text(server_factory, tmp_path):
    from prometheus_client.parser import text_string_to_metric_families

    from edge.publish.mqtt import MqttPublisher

    srv = server_factory()
    broker = Broker(tmp_path / "broker").start()
    pub = MqttPublisher(config.MqttConfig(host="127.0.0.1", port=broker.port, device_id="metrics"))
    try:
        assert wait_for(lambda: pub.stats()["connected"], 5)
        for i in range(3):
            pub.publish({"frame": i, "fused": {"emotion": "happy", "confidence": 0.5}})
        assert wait_for(lambda: pub.stats()["delivered"] >= 4, 5)  # 3 results + 1 state, QoS 1
    finally:
        pub.close(1.0)
        broker.stop()
    srv.live.collectors.append(publisher_collector(pub))
    assert wait_for(lambda: srv.live.counts["frames"] >= 3, 5)
    resp = get(srv, "/metrics")
    assert resp.getheader("Content-Type").startswith("text/plain; version=0.0.4")
    families = {f.name: f for f in text_string_to_metric_families(resp.read().decode())}
    assert families["edge_emotion_frames"].type == "counter"
    assert families["edge_emotion_frames"].samples[0].value >= 3
    stage = families["edge_emotion_stage_seconds"]
    assert stage.type == "histogram"
    buckets = [s for s in stage.samples if s.name.endswith("_bucket") and s.labels["stage"] == "detect"]
    assert buckets[-1].labels["le"] == "+Inf" and buckets[-1].value >= 3
    assert [s.value for s in buckets] == sorted(s.value for s in buckets)  # cumulative
    assert buckets[1].value == 0 and buckets[2].value == buckets[-1].value  # 1.5 ms: above 1 ms, within 2 ms
    assert not any(s.labels.get("stage") == "audio_features" for s in stage.samples)  # 0.0: did not run
    mqtt = {s.labels["kind"]: s.value for s in families["edge_emotion_publisher_messages"].samples}
    assert mqtt["results"] == 3 and mqtt["delivered"] >= 4 and mqtt["dropped"] == 0
    assert families["edge_emotion_publisher_queued"].samples[0].value == 0
    for name in ("faces", "dropped_frames", "tracks_active", "stream_viewers", "http_refused"):
        assert f"edge_emotion_{name}" in families, name


def test_token_required_beyond_the_loopback(server_factory, monkeypatch):
    with pytest.raises(ConfigError, match="http.host = '0.0.0.0'.*token"):
        LiveServer(http_config(host="0.0.0.0"), LiveState(), threading.Event())
    with pytest.raises(ConfigError, match="at least 16"):
        LiveServer(http_config(token="short"), LiveState(), threading.Event())
    monkeypatch.setenv("EDGE_TEST_TOKEN", TOKEN)
    srv = server_factory(host="0.0.0.0", token_env="EDGE_TEST_TOKEN")
    assert wait_for(lambda: get(srv, "/healthz").status == 200, 5)  # open: load balancers send no token
    for path in ("/", "/api/latest", "/metrics", "/stream.mjpg"):
        assert get(srv, path).status == 401, path
    assert get(srv, "/api/latest", {"Authorization": "Bearer wrong-token-0123456789"}).status == 401
    assert get(srv, "/api/latest", {"Authorization": f"Bearer {TOKEN}"}).status == 200
    login = get(srv, f"/?token={TOKEN}")
    assert login.status == 303 and login.getheader("Location") == "/"  # the token leaves the address bar
    cookie = login.getheader("Set-Cookie")
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie
    assert get(srv, "/metrics", {"Cookie": cookie.split(";")[0]}).status == 200


def test_privacy_mode_serves_numbers_only(server_factory):
    srv = server_factory(stream=False)
    assert wait_for(lambda: get(srv, "/healthz").status == 200, 5)
    resp = get(srv, "/stream.mjpg")
    assert resp.status == 404 and b"http.stream = false" in resp.read()
    latest = json.loads(get(srv, "/api/latest").read())
    assert latest["stream"] is False and latest["faces"]
    assert srv.stream is None and not any(t.name == "jpeg-stream" for t in threading.enumerate())


def test_connections_are_bounded_and_shutdown_is_prompt(server_factory):
    srv = server_factory(max_clients=2, max_streams=1)
    assert wait_for(lambda: get(srv, "/healthz").status == 200, 5)
    # A handler thread gives its slot back just after its answer reaches us: wait for that each time, or on a
    # loaded machine the second stream request finds both slots taken and is refused by max_clients instead.
    assert wait_for(lambda: srv.httpd.busy == 0, 5)
    viewer = get(srv, "/stream.mjpg")
    assert viewer.status == 200
    assert wait_for(lambda: srv.httpd.busy == 1, 5)
    refused = get(srv, "/stream.mjpg")
    assert refused.status == 503  # one viewer at most
    refused.read(), refused.close()
    assert wait_for(lambda: srv.httpd.busy == 1, 5)  # only the viewer's connection is served now
    idle = socket.create_connection(("127.0.0.1", srv.port))  # holds the second slot without sending anything
    assert wait_for(lambda: srv.httpd.busy == 2, 5)
    busy = socket.create_connection(("127.0.0.1", srv.port))
    busy.settimeout(3)
    assert busy.recv(100).startswith(b"HTTP/1.0 503")
    assert "edge_emotion_http_refused_total 1" in srv.metrics()
    idle.close()
    t = time.monotonic()
    srv.stop.set()
    srv.close(1.0)
    assert time.monotonic() - t < 2.0
    assert not any(th.name == "jpeg-stream" and th.is_alive() for th in threading.enumerate())
    viewer.close(), busy.close()


def test_port_in_use_names_the_key():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        cfg = http_config(port=s.getsockname()[1])
        with pytest.raises(OSError, match="change http.port"):
            LiveServer(cfg, LiveState(), threading.Event()).start()


def test_run_refuses_an_open_page_without_a_token():
    import subprocess
    import sys
    from pathlib import Path

    p = subprocess.run([sys.executable, "-m", "edge.cli", "run", "--source", "sample", "--http", "--http-host",
                        "0.0.0.0"], cwd=Path(__file__).resolve().parents[1], capture_output=True, text=True,
                       timeout=60)
    assert p.returncode == 2, p.stderr
    assert "http.host = '0.0.0.0' listens beyond this machine" in p.stderr and p.stdout == ""
