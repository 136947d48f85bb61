"""`edge-emotion run` end to end on the bundled demo clip with the bundled models."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from edge import paths
from edge.result import SCHEMA, STAGES

ROOT = Path(__file__).resolve().parents[1]
CMD = [sys.executable, "-m", "edge.cli", "run"]


def run(args, timeout=120, **kw):
    return subprocess.run(CMD + args, capture_output=True, text=True, timeout=timeout, cwd=ROOT, **kw)


@pytest.fixture(scope="module")
def demo_lines(tmp_path_factory):
    """The whole demo clip processed frame by frame (not in real time), video and audio."""
    cfg = tmp_path_factory.mktemp("cfg") / "offline.toml"
    cfg.write_text("[video]\nsource = \"sample\"\nrealtime = false\n[audio]\nsource = \"sample\"\n")
    p = run(["--config", str(cfg)])
    assert p.returncode == 0, p.stderr
    return [json.loads(line) for line in p.stdout.splitlines()]


def test_demo_clip_gives_one_documented_result_per_frame(demo_lines):
    frames = [r for r in demo_lines if r["frame"] is not None]
    assert len(frames) == 240  # 24 s at 10 fps, none dropped when not played in real time
    assert [r["frame"] for r in frames] == list(range(240))
    for r in frames:
        assert r["schema"] == SCHEMA
        assert set(r["timing_ms"]) == set(STAGES)
        assert ("audio_reason" in r) == (r["audio"] is None)
        for face in r["faces"]:
            x, y, w, h = face["box"]
            assert 0 <= x < 640 and 0 <= y < 480 and w > 20 and h > 20
            assert abs(sum(face["probs"].values()) - 1.0) < 0.02
            assert face["emotion"] == max(face["probs"], key=face["probs"].get)
    with_face = sum(1 for r in frames if r["faces"])
    assert with_face >= 0.95 * len(frames)  # every segment of the clip shows a face


def test_demo_clip_voice_follows_the_speech(demo_lines):
    manifest = json.loads((paths.SAMPLE_DIR / "demo.json").read_text())
    spoken = [s for s in manifest["segments"] if "speech" in s]
    voiced = [r for r in demo_lines if r["audio"] is not None]
    assert voiced, "no voice result on a clip with six utterances"
    assert {tuple(s["speech_s"]) for s in spoken}  # the manifest knows where speech is
    fused_voice = [r for r in demo_lines if "voice" in r["fused"]["sources"]]
    assert fused_voice and all("face" in r["fused"]["sources"] for r in fused_voice if r["faces"])
    # between utterances the reason is given, not a guess
    reasons = {r["audio_reason"] for r in demo_lines if r["audio"] is None}
    assert reasons and None not in reasons


def test_sigterm_stops_in_order_within_two_seconds():
    proc = subprocess.Popen(CMD + ["--source", "sample"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, cwd=ROOT)
    try:
        first = proc.stdout.readline()  # the loop is running once a result is out
        assert json.loads(first)["schema"] == SCHEMA
        t = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        code = proc.wait(timeout=10)
        elapsed = time.monotonic() - t
    finally:
        proc.kill()
    assert code == 0
    assert elapsed < 2.0, f"took {elapsed:.2f} s to stop"
    assert "received SIGTERM, stopping" in proc.stderr.read()


def test_config_error_exits_2_with_the_key_path(tmp_path):
    cfg = tmp_path / "bad.toml"
    cfg.write_text("[detect]\nmax_face = 3\n")
    p = run(["--config", str(cfg)])
    assert p.returncode == 2
    assert "detect.max_face: unknown key" in p.stderr


def test_missing_camera_exits_3_naming_it():
    p = run(["--video", "/dev/video77", "--no-audio"])
    assert p.returncode == 3
    assert "/dev/video77" in p.stderr and "Traceback" not in p.stderr


def test_missing_model_file_is_a_config_error_naming_the_key(tmp_path):
    p = run(["--source", "sample", "--face-model", str(tmp_path / "nope.tflite")])
    assert p.returncode == 2  # the configured path is wrong: a restart cannot fix it
    assert "models.face = " in p.stderr and "nope.tflite': file not found" in p.stderr


def test_default_path_imports_no_tensorflow_librosa_or_mediapipe():
    code = (
        "import sys, threading\n"
        "from edge import config\n"
        "from edge.pipeline import Pipeline\n"
        "from edge.publish.stdout import StdoutPublisher\n"
        "import io\n"
        "cfg = config.from_dict({'video': {'source': 'sample', 'realtime': False}, 'audio': {'source': 'sample'}})\n"
        "p = Pipeline(cfg, StdoutPublisher(io.StringIO()))\n"
        "stop = threading.Event()\n"
        "p.open_sources(stop)\n"
        "for _ in range(20):\n"
        "    p.step(p.video.next(1.0))\n"
        "stop.set()\n"
        # shut down in order, as run() does: a capture thread still inside OpenCV when the interpreter exits aborts it
        "p.video.join(timeout=5.0)\n"
        "[ch.close(timeout=5.0) for ch in p.channels.values()]\n"
        "heavy = sorted(m for m in sys.modules if m.split('.')[0] in ('tensorflow', 'keras', 'librosa', 'mediapipe', 'numba', 'scipy', 'torch'))\n"
        "print(heavy)\n"
    )
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert p.returncode == 0, p.stderr
    assert p.stdout.strip().splitlines()[-1] == "[]"


def test_a_closed_stdout_pipe_ends_the_run_cleanly():
    """`edge-emotion run | head -1`: once nobody reads the results, the loop stops instead of running on."""
    proc = subprocess.Popen(CMD + ["--source", "sample"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, cwd=ROOT)
    try:
        assert json.loads(proc.stdout.readline())["schema"] == SCHEMA
        proc.stdout.close()
        code = proc.wait(timeout=10)  # the clip would otherwise play for 24 s
    finally:
        proc.kill()
    err = proc.stderr.read()
    assert code == 0, err
    assert "nobody reads the results any more; stopping" in err and "Traceback" not in err


SIGNAL_WHILE_LOCKED = """
import os, signal, threading, time
from edge.cli import SignalWatch, StopGuard
stop, guard = threading.Event(), StopGuard()
guard.GRACE_S = 3600  # the guard's exit must not end this check
watch = SignalWatch(stop, guard)
with stop._cond:  # what the loop's stop.wait() holds for a few bytecodes at a time
    os.kill(os.getpid(), signal.SIGTERM)
    time.sleep(0.3)  # the Python-level handler runs in this thread, now, while the lock is held
    assert not stop.is_set()
assert stop.wait(5), "the stop event was never set"
watch.close()
print("stopped")
"""


def test_a_signal_while_the_loop_holds_the_stop_events_lock_stops_it():
    """A SIGTERM handler that set the event itself hung `run` for good when it ran inside stop.wait()."""
    r = subprocess.run([sys.executable, "-c", SIGNAL_WHILE_LOCKED], capture_output=True, text=True, timeout=30,
                       cwd=Path(__file__).resolve().parents[1])
    assert r.returncode == 0 and r.stdout.strip() == "stopped", r.stderr[-2000:]
