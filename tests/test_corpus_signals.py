"""Adversarial corpus, signals and outputs: SIGTERM/SIGINT/SIGHUP in each phase, and standard output that
stalls, fills up or is closed. Every stop within 2 s, no traceback.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time

import pytest

import corpus_run as cr

# Results as fast as it can make them, for as long as the test wants (the clip loops).
OFFLINE = '[video]\nsource = "sample"\nrealtime = false\nloop = true\n[audio]\nsource = "sample"\n'


@pytest.fixture
def offline(tmp_path):
    p = tmp_path / "offline.toml"
    p.write_text(OFFLINE)
    return p


def test_sigterm_at_start_up(corpus):
    p = cr.spawn(["--source", "sample"])
    time.sleep(0.8)  # importing, checking the config or loading the models
    code, elapsed, err = cr.stop(p)
    result = corpus(cr.outcome(code, elapsed, err, ok=(0, -signal.SIGTERM)), "signals", "signal:sigterm-at-start-up")
    assert result == "handled", (code, elapsed, err)


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_signal_while_running(sig, corpus):
    p = cr.spawn(["--source", "sample"])
    cr.wait_for_log(p, "first result")
    code, elapsed, err = cr.stop(p, sig)
    result = corpus(cr.outcome(code, elapsed, err, ok=(0,)), "signals", f"signal:{sig.name}-running")
    assert result == "handled" and f"received {sig.name}" in err, (code, elapsed, err)


def test_two_sigterms_in_a_row(corpus):
    p = cr.spawn(["--source", "sample"])
    cr.wait_for_log(p, "first result")
    p.send_signal(signal.SIGTERM)
    time.sleep(0.1)
    code, elapsed, err = cr.stop(p)
    # 0, or the default action when the second one lands after the handlers are gone (interpreter exit)
    result = corpus(cr.outcome(code, elapsed, err, ok=(0, -signal.SIGTERM)), "signals", "signal:sigterm-twice")
    assert result == "handled", (code, elapsed, err)


def test_sighup_ends_the_process_for_systemd_to_restart(corpus):
    """The unit's RestartForceExitStatus=SIGHUP: SIGHUP keeps its default action (exit), and systemd restarts."""
    p = cr.spawn(["--source", "sample"])
    cr.wait_for_log(p, "first result")
    code, elapsed, err = cr.stop(p, signal.SIGHUP)
    result = corpus(cr.outcome(code, elapsed, err, ok=(-signal.SIGHUP,)), "signals", "signal:sighup")
    assert result == "handled", (code, elapsed, err)


def test_sigterm_with_a_reader_that_stopped_reading(offline, corpus):
    """The issue: a stalled stdout reader held the loop and SIGTERM for over 20 s."""
    p = cr.spawn(["--config", str(offline)], stdout=subprocess.PIPE)  # nobody reads: the pipe fills at 64 kB
    cr.wait_for_log(p, "first result")
    time.sleep(2.0)
    code, elapsed, err = cr.stop(p)
    p.stdout.close()
    result = corpus(cr.outcome(code, elapsed, err, ok=(0,)), "signals", "signal:stalled-reader-offline")
    assert result == "handled", (code, elapsed, err)


@pytest.mark.slow  # ~12 s: the demo clip in real time fills a 64 kB pipe in ~5 s
def test_a_stalled_reader_does_not_stall_the_live_loop(corpus):
    p = cr.spawn(["--source", "sample", "--log-level", "debug"], stdout=subprocess.PIPE)
    lines = cr.wait_for_log(p, "stdout reader has not read for", timeout=60)  # the pipe is full: reported
    time.sleep(1.0)  # the loop goes on meanwhile (results queue, then the oldest drop)
    code, elapsed, err = cr.stop(p)
    p.stdout.close()
    result = corpus(cr.outcome(code, elapsed, err, ok=(0,)), "signals", "signal:stalled-reader-live")
    assert result == "handled" and lines, (code, elapsed, err)


def test_closed_stdout_exits_3_with_the_fix(corpus):
    p = cr.spawn(["--source", "sample"], stdout=None, pass_fds=(), close_fds=True,
                 preexec_fn=lambda: __import__("os").close(1))
    code = p.wait(60)
    err = p.stderr.read()
    result = corpus(cr.outcome(code, 0.0, err, ok=(3,)), "signals", "output:closed-stdout")
    assert result == "clean error" and "standard output is closed" in err, (code, err)


def test_a_full_disk_on_stdout_is_logged_once_and_the_loop_goes_on(corpus):
    with open("/dev/full", "w") as full:
        p = cr.spawn(["--source", "sample"], stdout=full)
        lines = cr.wait_for_log(p, "first result")
        time.sleep(1.0)
        code, elapsed, err = cr.stop(p)
    text = "".join(lines) + err
    result = corpus(cr.outcome(code, elapsed, err, ok=(0,)), "signals", "output:dev-full")
    assert result == "handled" and text.count("stdout publish failed") == 1, (code, elapsed, text)


def test_sigterm_while_the_mqtt_broker_never_answers(corpus):
    broker = cr.SilentServer()  # accepts the TCP connection, never sends CONNACK
    try:
        p = cr.spawn(["--source", "sample", "--publisher", "mqtt", "--mqtt-host", "127.0.0.1",
                      "--mqtt-port", str(broker.port)])
        cr.wait_for_log(p, "first result")
        code, elapsed, err = cr.stop(p)
    finally:
        broker.close()
    result = corpus(cr.outcome(code, elapsed, err, ok=(0,)), "signals", "signal:silent-broker")
    assert result == "handled", (code, elapsed, err)


def test_the_stop_guard_ends_a_phase_that_overruns(corpus):
    """The backstop for C code no signal interrupts (a model loading from a slow SD card): exit 1.5 s after SIGTERM."""
    code = ("import signal, threading, time\n"
            "from edge.cli import StopGuard\n"
            "guard = StopGuard()\n"
            "guard.phase = 'loading the models'\n"
            "signal.signal(signal.SIGTERM, lambda *a: guard.arm())\n"
            "print('ready', flush=True)\n"
            "time.sleep(30)  # the stuck phase\n")
    p = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                         cwd=cr.ROOT)
    assert p.stdout.readline().strip() == "ready"
    code_, elapsed, err = cr.stop(p)
    result = corpus(cr.outcome(code_, elapsed, err, ok=(0,)), "signals", "signal:guard-ends-a-stuck-phase")
    assert result == "handled" and "still loading the models 1.5 s after the stop request" in err, (code_, err)
