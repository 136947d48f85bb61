"""edge.service.notify against a real unix datagram socket, as systemd's NOTIFY_SOCKET is."""

from __future__ import annotations

import logging
import os
import statistics
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import pytest

from edge.service.notify import Notifier, watchdog_interval
from notify_socket import NotifySocket

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def manager(tmp_path):
    m = NotifySocket(str(tmp_path / "notify.sock"))
    yield m
    m.close()


def test_noop_without_notify_socket():
    n = Notifier(env={"WATCHDOG_USEC": "1000000"})
    assert not n.enabled
    assert n.ready() is False and n.status("x") is False
    n.progress()
    assert n.stopping() is False
    assert n.interval is None and n._thread is None


def test_ready_status_stopping(manager):
    n = Notifier(env={"NOTIFY_SOCKET": manager.path})
    assert n.ready("models loaded") is True
    assert manager.wait_for("READY=1") == "READY=1\nSTATUS=models loaded"
    n.status("12.5 fps")
    manager.wait_for("STATUS=12.5 fps")
    n.stopping()
    manager.wait_for("STOPPING=1")
    assert n._thread is None  # no WATCHDOG_USEC: no watchdog thread
    n.close()


def test_abstract_namespace_socket():
    name = f"edge-emotion-test-{uuid.uuid4().hex}"
    m = NotifySocket(b"\0" + name.encode())
    try:
        n = Notifier(env={"NOTIFY_SOCKET": "@" + name})
        assert n.ready() is True
        m.wait_for("READY=1")
        n.close()
    finally:
        m.close()


def test_watchdog_pings_at_half_interval_only_while_progressing(manager):
    # WatchdogSec=0.4 s -> a ping every 0.2 s
    n = Notifier(env={"NOTIFY_SOCKET": manager.path, "WATCHDOG_USEC": "400000"})
    assert n.interval == pytest.approx(0.2)
    feeding = threading.Event()
    feeding.set()
    done = threading.Event()

    def pipeline():
        while not done.is_set():
            if feeding.is_set():
                n.progress()
            time.sleep(0.01)  # a 100 fps "pipeline"

    t = threading.Thread(target=pipeline, daemon=True)
    t.start()
    t0 = time.monotonic()
    n.ready()
    time.sleep(1.5)
    pings = manager.pings(t0)
    gaps = [b - a for a, b in zip(pings, pings[1:])]
    assert 5 <= len(pings) <= 8, pings  # 1.5 s / 0.2 s = 7
    assert statistics.median(gaps) == pytest.approx(0.2, abs=0.04), gaps
    assert max(gaps) < 0.4, gaps  # never a gap that would trip WatchdogSec

    feeding.clear()  # the pipeline stalls
    stalled_at = time.monotonic()
    time.sleep(1.0)
    # at most the ping already earned by progress made just before the stall
    assert len(manager.pings(stalled_at)) <= 1, manager.pings(stalled_at)
    assert len(manager.pings(stalled_at + 0.25)) == 0

    feeding.set()  # it recovers: pings resume
    resumed_at = time.monotonic()
    time.sleep(0.7)
    assert len(manager.pings(resumed_at)) >= 2

    n.stopping()
    manager.wait_for("STOPPING=1")
    time.sleep(0.5)
    # No ping after STOPPING=1. Judged by the order the datagrams arrived in (a unix datagram
    # socket keeps it), not by the receiving thread's clock: a ping sent just before stopping()
    # may be read after stopping() returned on a loaded machine, and that is correct behaviour.
    received = [m for _, m in manager.messages]
    stop_at = next(i for i, m in enumerate(received) if "STOPPING=1" in m.split("\n"))
    assert "WATCHDOG=1" not in received[stop_at + 1 :], received[stop_at:]
    done.set()
    t.join()
    n.close()


def test_watchdog_belongs_to_another_pid(manager):
    env = {"NOTIFY_SOCKET": manager.path, "WATCHDOG_USEC": "200000", "WATCHDOG_PID": str(os.getpid() + 1)}
    assert watchdog_interval(env, os.getpid()) is None
    n = Notifier(env=env)
    n.ready()
    n.progress()
    time.sleep(0.4)
    assert manager.pings() == []
    n.close()


def test_watchdog_disabled_by_config(manager):
    n = Notifier(env={"NOTIFY_SOCKET": manager.path, "WATCHDOG_USEC": "200000"}, watchdog=False)
    n.ready()
    n.progress()
    time.sleep(0.4)
    manager.wait_for("READY=1")
    assert manager.pings() == []
    n.close()


def test_subprocess_reads_environment_and_its_own_watchdog_pid(manager):
    # As systemd does: WATCHDOG_PID is the main process's pid (`exec` keeps the shell's $$).
    code = ("import time; from edge.service.notify import Notifier; n = Notifier.from_env(); n.ready(); "
            "[(n.progress(), time.sleep(0.01)) for _ in range(60)]; n.stopping(); print(n.pings)")
    env = dict(os.environ, NOTIFY_SOCKET=manager.path, WATCHDOG_USEC="200000")
    out = subprocess.run(["sh", "-c", f'WATCHDOG_PID=$$ exec "{sys.executable}" -c "{code}"'],
                         env=env, cwd=ROOT, capture_output=True, text=True, timeout=30)
    assert out.returncode == 0, out.stderr
    manager.wait_for("STOPPING=1")
    assert int(out.stdout) >= 3 and len(manager.pings()) == int(out.stdout)  # ~0.6 s / 0.1 s


def test_unreachable_socket_warns_once_and_never_raises(tmp_path, caplog):
    n = Notifier(env={"NOTIFY_SOCKET": str(tmp_path / "missing.sock")})
    with caplog.at_level(logging.WARNING, logger="edge.service.notify"):
        assert n.ready() is False
        assert n.status("x") is False
    assert len([r for r in caplog.records if "sd_notify" in r.getMessage()]) == 1


def test_unsupported_socket_kind_is_ignored(caplog):
    with caplog.at_level(logging.WARNING, logger="edge.service.notify"):
        n = Notifier(env={"NOTIFY_SOCKET": "vsock:2:1234"})
    assert not n.enabled
    assert "vsock:2:1234" in caplog.text
