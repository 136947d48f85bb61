"""`edge-emotion run` as systemd runs it: NOTIFY_SOCKET + WATCHDOG_USEC/PID, then a stalled camera, then SIGTERM.

The camera is an MJPEG-over-HTTP stream served by the test (frames of the bundled demo clip); pausing
it leaves the process alive with its capture blocked in a read, exactly the hang the watchdog exists for.
"""

from __future__ import annotations

import os
import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path

import pytest

from edge import paths
from edge.description import description_path
from mjpeg_camera import MjpegCamera
from notify_socket import NotifySocket

ROOT = Path(__file__).resolve().parents[1]
WATCHDOG_S = 1.0  # WatchdogSec for the test: pings every 0.5 s
STALL_S = 3.5  # the last 2 s of it (4 ping intervals) must see no ping

cv2 = pytest.importorskip("cv2")
pytestmark = pytest.mark.skipif(not description_path(paths.FACE_MODEL).exists(),
                                reason=f"bundled face model not built yet ({paths.FACE_MODEL})")


@pytest.fixture
def camera():
    c = MjpegCamera()
    yield c
    c.close()


@pytest.fixture
def manager(tmp_path):
    m = NotifySocket(str(tmp_path / "notify.sock"))
    yield m
    m.close()


def start(tmp_path: Path, camera: MjpegCamera, manager: NotifySocket) -> subprocess.Popen:
    """`edge-emotion run` with the environment systemd gives a Type=notify service with WatchdogSec."""
    cfg = tmp_path / "edge-emotion.toml"
    cfg.write_text(f'[video]\nsource = "{camera.url}"\n[audio]\nsource = "none"\n'
                   '[output]\npublisher = "stdout"\nfps = 10.0\n[service]\nwatchdog = true\n')
    env = dict(os.environ, NOTIFY_SOCKET=manager.path, WATCHDOG_USEC=str(int(WATCHDOG_S * 1e6)), PYTHONUNBUFFERED="1")
    # As systemd: WATCHDOG_PID is the main process (`exec` keeps the shell's pid).
    with (tmp_path / "stderr.log").open("w") as err:
        return subprocess.Popen(["sh", "-c", f'WATCHDOG_PID=$$ exec "{sys.executable}" -m edge.cli run --config "{cfg}"'],
                                cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=err)


def stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.kill()
        proc.wait()


def test_ready_watchdog_stall_and_stopping(tmp_path, camera, manager):
    proc = start(tmp_path, camera, manager)
    try:
        manager.wait_for("READY=1", timeout=60)
        ready_at = time.monotonic()

        time.sleep(3.0)  # frames flowing: a ping every WATCHDOG_S / 2
        pings = manager.pings(ready_at)
        gaps = [b - a for a, b in zip(pings, pings[1:])]
        assert len(pings) >= 4, pings
        assert statistics.median(gaps) == pytest.approx(WATCHDOG_S / 2, abs=0.15), gaps
        assert max(gaps) < WATCHDOG_S, gaps

        camera.paused.set()  # the camera hangs; the process stays alive
        stalled_at = time.monotonic()
        time.sleep(STALL_S)
        assert proc.poll() is None
        # frames already buffered in the socket and decoder may still earn a ping or two right after the pause
        late = manager.pings(stalled_at + 1.5)
        assert late == [], f"watchdog pinged {len(late)} times while no frame was processed"
        print(f"pings while flowing: {len(pings)} in 3.0 s, median gap {statistics.median(gaps):.3f} s; "
              f"after the stall: {len(manager.pings(stalled_at))} in {STALL_S} s")

        camera.paused.clear()  # frames again: pings resume (systemd would have restarted us by now)
        resumed_at = time.monotonic()
        time.sleep(2.0)
        assert len(manager.pings(resumed_at)) >= 2

        proc.send_signal(signal.SIGTERM)
        term_at = time.monotonic()
        manager.wait_for("STOPPING=1", timeout=5)
        code = proc.wait(timeout=10)  # TimeoutStopSec=10s in the unit
        print(f"exit {code} {time.monotonic() - term_at:.2f} s after SIGTERM")
        assert code == 0, (tmp_path / "stderr.log").read_text()
        assert time.monotonic() - term_at < 2.5  # the loop stops within 2 s
    finally:
        stop(proc)


def test_sighup_exits_by_the_signal_so_systemd_restarts(tmp_path, camera, manager):
    """The unit's RestartForceExitStatus=SIGHUP relies on the runtime dying *by* SIGHUP (no handler)."""
    proc = start(tmp_path, camera, manager)
    try:
        manager.wait_for("READY=1", timeout=60)
        proc.send_signal(signal.SIGHUP)
        assert proc.wait(timeout=10) == -signal.SIGHUP
    finally:
        stop(proc)
