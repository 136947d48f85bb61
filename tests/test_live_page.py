"""The live page in a real browser: `edge-emotion run --source sample` with the page on, loaded in headless Chromium.

Checks what a person setting up a device would look at: the picture moves, boxes and labels appear,
the fused emotion and its timeline fill in. A screenshot is kept (tmp, and $EDGE_EMOTION_SCREENSHOT
when set: CI keeps it as docs/live-page.png). Skipped, with the reason, where Chromium is missing.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from browser import CHROMIUM, Chromium
from mosquitto import free_port, wait_for

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="needs Chromium: apt-get install chromium (make system-deps "
                                                         "does it as root)")

# A hash of the <img>'s current picture, drawn small into a canvas (same origin, so the pixels are readable).
PICTURE_HASH = """(() => {
  const img = document.getElementById('cam');
  if (!img || !img.complete || !img.naturalWidth) return null;
  const c = document.createElement('canvas'); c.width = 80; c.height = 60;
  const g = c.getContext('2d'); g.drawImage(img, 0, 0, 80, 60);
  const d = g.getImageData(0, 0, 80, 60).data; let h = 0;
  for (let i = 0; i < d.length; i += 4) h = (h * 31 + d[i] + d[i + 1] + d[i + 2]) | 0;
  return h;
})()"""


@pytest.fixture
def running(tmp_path):
    """edge-emotion run on the demo clip (looped), page on a free port; yields (process, base URL)."""
    port = free_port()
    cfg = tmp_path / "page.toml"
    cfg.write_text(f"[video]\nsource = \"sample\"\nloop = true\n[audio]\nsource = \"sample\"\n"
                   f"[http]\nenabled = true\nport = {port}\n")
    proc = subprocess.Popen([sys.executable, "-m", "edge.cli", "run", "--config", str(cfg)], cwd=ROOT,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    url = f"http://127.0.0.1:{port}"

    def healthy() -> bool:
        try:
            return urllib.request.urlopen(url + "/healthz", timeout=1).status == 200
        except OSError:
            return False

    try:
        assert wait_for(healthy, 60), proc.stderr.read() if proc.poll() is not None else "no /healthz within 60 s"
        yield proc, url
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_live_page_in_headless_chromium(running, tmp_path):
    proc, url = running
    browser = Chromium()
    try:
        browser.open(url + "/")
        labels = browser.wait_for("[...document.querySelectorAll('#faces .face-label')].map(e => e.textContent)", 30)
        assert labels, f"no face labels on the page; console: {browser.console}"
        assert set(labels) <= {"angry", "disgust", "fear", "happy", "sad", "surprise", "neutral"}
        track = browser.evaluate("document.querySelector('#faces .face h3').textContent")
        assert track.startswith("#"), track  # the track id comes first
        assert browser.evaluate("document.querySelectorAll('#faces .bar').length") >= 7  # a bar per emotion
        assert browser.wait_for("document.getElementById('fused-emotion').textContent !== '–'", 10)
        assert "frame" in browser.evaluate("document.getElementById('status').textContent")

        # the picture updates: three different pictures within a few seconds
        seen = set()
        deadline = time.monotonic() + 20
        while len(seen) < 3 and time.monotonic() < deadline:
            h = browser.evaluate(PICTURE_HASH)
            if h is not None:
                seen.add(h)
            time.sleep(0.3)
        assert len(seen) >= 3, f"the camera picture did not change: {seen}; console: {browser.console}"
        # boxes are drawn over it
        assert browser.evaluate("(() => { const c = document.getElementById('overlay'); "
                                "return c.width > 0 && c.getContext('2d').getImageData(0, 0, c.width, c.height)"
                                ".data.some(v => v > 0); })()")
        assert browser.wait_for("document.getElementById('timeline').getContext('2d')"
                                ".getImageData(0, 0, 50000, 90).data.some(v => v > 0)", 12)  # a timeline point
        assert "appeared" in browser.wait_for("document.getElementById('events').textContent", 12)  # the `new` event

        shot = browser.screenshot(tmp_path / "live-page.png")
        assert shot.stat().st_size > 10_000
        keep = os.environ.get("EDGE_EMOTION_SCREENSHOT")
        if keep:
            Path(keep).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(shot, keep)
        assert not [c for c in browser.console if c.startswith("exception")], browser.console

        # the viewer is still connected: SIGTERM stops the service within 2 s all the same
        metrics = urllib.request.urlopen(url + "/metrics", timeout=2).read().decode()
        assert "edge_emotion_stream_viewers 1" in metrics
        t = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(10) == 0
        assert time.monotonic() - t < 2.0
    finally:
        browser.close()


def test_privacy_mode_page_shows_boxes_without_the_picture(tmp_path):
    port = free_port()
    cfg = tmp_path / "private.toml"
    cfg.write_text(f"[video]\nsource = \"sample\"\nloop = true\n[audio]\nsource = \"none\"\n"
                   f"[http]\nenabled = true\nport = {port}\nstream = false\n")
    proc = subprocess.Popen([sys.executable, "-m", "edge.cli", "run", "--config", str(cfg)], cwd=ROOT,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    browser = None
    try:
        url = f"http://127.0.0.1:{port}"
        assert wait_for(lambda: _ok(url + "/healthz"), 60)
        browser = Chromium(width=420, height=860)  # a phone-sized window
        browser.open(url + "/")
        assert browser.wait_for("document.querySelectorAll('#faces .face-label').length > 0", 30), browser.console
        assert browser.evaluate("document.getElementById('cam').hidden && !document.getElementById('privacy').hidden")
        assert browser.evaluate("!document.getElementById('cam').getAttribute('src')")  # never asked for the stream
        # the layout fits the phone: nothing wider than the window
        assert browser.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
        latest = json.loads(urllib.request.urlopen(url + "/api/latest", timeout=2).read())
        assert latest["stream"] is False
    finally:
        if browser is not None:
            browser.close()
        proc.send_signal(signal.SIGTERM)
        proc.wait(10)


def _ok(url: str) -> bool:
    try:
        return urllib.request.urlopen(url, timeout=1).status == 200
    except OSError:
        return False
