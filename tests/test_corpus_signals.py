"""Adversarial corpus, signals and outputs: SIGTERM/SIGINT/SIGHUP in each phase, and standard output that
stalls, fills up or is closed. Every stop within 2 s, no traceback.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import threading
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


# --- a transcriber on stdin (`run --text -`) still attached at the signal -------------------------------------------
# The issue: 9 of 9 runs ended in "Fatal Python error: _enter_buffered_busy" and SIGABRT, a reader thread being
# inside sys.stdin's buffered reader at interpreter shutdown. The reader now uses os.read on the descriptor.

TEXT_ONLY = ["--no-video", "--no-audio", "--text", "-"]


def _writer_cases():
    def idle(p):
        pass

    def mid_line(p):
        p.stdin.write("I am half way through a sent")
        p.stdin.flush()

    def flooding(p):
        def run():
            try:
                while True:
                    p.stdin.write("I am so happy today! " * 3000 + "\n")
            except (OSError, ValueError):
                pass
        threading.Thread(target=run, daemon=True).start()
        time.sleep(0.5)

    def one_text(p):
        p.stdin.write("Thank you so much, I love it!\n")
        p.stdin.flush()
        time.sleep(0.5)

    return [("idle", idle, signal.SIGTERM), ("mid-line", mid_line, signal.SIGTERM),
            ("flooding", flooding, signal.SIGTERM), ("after-a-text", one_text, signal.SIGTERM),
            ("idle-sigint", idle, signal.SIGINT)]


@pytest.mark.parametrize("case,prepare,sig", _writer_cases(), ids=[c[0] for c in _writer_cases()])
def test_a_signal_with_a_writer_still_attached_to_stdin(case, prepare, sig, corpus):
    p = cr.spawn(TEXT_ONLY, stdin=subprocess.PIPE)
    try:
        cr.wait_for_log(p, "first result")
        prepare(p)
        code, elapsed, err = cr.stop(p, sig)
    finally:
        try:
            p.stdin.close()
        except OSError:
            pass
    result = corpus(cr.outcome(code, elapsed, err, ok=(0,)), "signals", f"signal:stdin-writer-{case}")
    assert result == "handled" and "Fatal Python error" not in err, (code, elapsed, err[-2000:])


def test_sigterm_with_stdin_a_terminal(corpus):
    """The service run by hand from a shell: stdin is a terminal nobody types into."""
    import pty

    master, slave = pty.openpty()
    try:
        p = cr.spawn(TEXT_ONLY, stdin=slave)
        cr.wait_for_log(p, "first result")
        code, elapsed, err = cr.stop(p)
    finally:
        os.close(slave)
        os.close(master)
    result = corpus(cr.outcome(code, elapsed, err, ok=(0,)), "signals", "signal:stdin-terminal")
    assert result == "handled" and "Fatal Python error" not in err, (code, elapsed, err[-2000:])


# --- SIGINT (Ctrl-C) in each phase of start-up, and to `infer` and `check-config` --------------------------------
# The phase is read from the process's own signal dispositions (/proc/PID/status, SigCgt), not guessed from a delay:
# Python's start-up catches SIGINT; edge.cli's first lines give it back its default (the imports); main() catches it
# again; `run` then catches SIGTERM too.

def _caught(pid: int, sig: int) -> bool | None:
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("SigCgt:"):
                    return bool(int(line.split()[1], 16) >> (sig - 1) & 1)
    except OSError:
        return None
    return None


def _loaded(pid: int, library: str) -> bool:
    try:
        with open(f"/proc/{pid}/maps") as f:
            return library in f.read()
    except OSError:
        return False


def _wait_phase(p: subprocess.Popen, phase: str, timeout: float = 60.0) -> bool:
    """Busy-wait (the import phase lasts ~50 ms) until `phase`: 'cli-imports' (SIGINT back at its default after
    Python caught it), 'run' (SIGTERM caught), 'libraries' (OpenCV mapped: main() runs and imports the runtimes)."""
    deadline = time.monotonic() + timeout
    seen_caught = False
    while time.monotonic() < deadline and p.poll() is None:
        if phase == "libraries":
            if _loaded(p.pid, "cv2"):
                return True
            time.sleep(0.005)
            continue
        sigint, sigterm = _caught(p.pid, signal.SIGINT), _caught(p.pid, signal.SIGTERM)
        if phase == "run" and sigterm:
            return True
        if sigint and not seen_caught:
            seen_caught = True
        elif seen_caught and sigint is False and phase == "cli-imports":
            return True
    return False


def _spawn(args: list[str], stdout=subprocess.DEVNULL) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "edge.cli", *args], stdout=stdout, stderr=subprocess.PIPE,
                            text=True, cwd=cr.ROOT)


# The statuses that are clean include the next phase's: the process may move on between the look and the signal.
SIGINT_PHASES = [  # (case, command, phase, extra delay, exit statuses that are clean)
    ("run-cli-imports", ["run", "--source", "sample"], "cli-imports", 0.0, (-signal.SIGINT, 0)),
    ("run-heavy-imports", ["run", "--source", "sample"], "run", 0.0, (0,)),
    ("run-loading-models", ["run", "--source", "sample"], "run", 0.4, (0,)),
    ("infer-cli-imports", ["infer", "edge/sample/demo.mp4"], "cli-imports", 0.0, (-signal.SIGINT, 130)),
    ("infer-imports", ["infer", "edge/sample/demo.mp4"], "libraries", 0.0, (130,)),
    # -SIGINT: a Ctrl-C while Python unwinds after main() (the status chosen, the exception handled): rare since
    # main() ignores SIGINT once done (1 of 60 runs at a random moment, was 5-10), and a shell shows it as 130 too
    ("check-config-loading", ["check-config", "systemd/edge-emotion.toml"], "libraries", 0.1, (130, 0, -signal.SIGINT)),
]


@pytest.mark.parametrize("case,args,phase,delay,ok", SIGINT_PHASES, ids=[c[0] for c in SIGINT_PHASES])
def test_sigint_in_each_phase_of_start_up(case, args, phase, delay, ok, corpus):
    """The issue: a KeyboardInterrupt traceback for SIGINT 0.1-0.5 s after start and to `infer`."""
    p = _spawn(args)
    if not _wait_phase(p, phase):
        p.kill()
        p.wait()
        pytest.skip(f"phase {phase} passed before it could be seen")
    time.sleep(delay)
    code, elapsed, err = cr.stop(p, signal.SIGINT)
    result = corpus(cr.outcome(code, elapsed, err, ok=ok), "signals", f"signal:sigint-{case}")
    assert result in ("handled", "clean error") and "KeyboardInterrupt" not in err, (code, elapsed, err[-2000:])


def test_sigint_to_infer_in_the_middle_of_a_batch(corpus):
    p = _spawn(["infer", "edge/sample/demo.wav", "edge/sample/demo.mp4", "edge/sample/demo.mp4"],
               stdout=subprocess.PIPE)
    first = p.stdout.readline()  # the WAV's line: the batch is under way
    code, elapsed, err = cr.stop(p, signal.SIGINT)
    p.stdout.close()
    result = corpus(cr.outcome(code, elapsed, err, ok=(130,)), "signals", "signal:sigint-infer-mid-batch")
    assert first and result == "handled" and "edge-emotion: interrupted" in err and "Traceback" not in err, (
        code, err[-2000:])


# --- clients of the live page that connect and say nothing ---------------------------------------------------------

def _http_run(tmp_path, port: int) -> subprocess.Popen:
    cfg = tmp_path / "http.toml"
    cfg.write_text('[video]\nsource = "sample"\nloop = true\n[audio]\nsource = "sample"\n'
                   f'[http]\nenabled = true\nport = {port}\nmax_clients = 4\n')
    return cr.spawn(["--config", str(cfg)])


@contextlib.contextmanager
def _silent_clients(tmp_path, n: int):
    """`run` with the page on and, once it gives results, `n` clients that connect and say nothing; yields
    (process, port); the clients are closed on the way out."""
    import socket

    from mosquitto import free_port

    port = free_port()
    p = _http_run(tmp_path, port)
    socks = []
    try:
        cr.wait_for_log(p, "first result")
        socks = [socket.create_connection(("127.0.0.1", port), timeout=5) for _ in range(n)]
        time.sleep(0.5)
        yield p, port
    finally:
        for s in socks:
            s.close()


def test_clients_that_connect_and_say_nothing_are_dropped_and_the_page_answers_again(tmp_path, corpus):
    """Every slot held by a silent client: more get 503 at once, the silent ones go after 5 s, the page answers."""
    import urllib.error
    import urllib.request

    with _silent_clients(tmp_path, 4) as (p, port):
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5)
            busy = None
        except urllib.error.HTTPError as e:
            busy = e.code
        deadline, answered = time.monotonic() + 30, False
        while time.monotonic() < deadline and not answered:
            try:
                answered = urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5).status == 200
            except (urllib.error.URLError, OSError):
                time.sleep(0.5)
        code, elapsed, err = cr.stop(p)
    result = corpus(cr.outcome(code, elapsed, err, ok=(0,)), "signals", "http:silent-clients-hold-every-slot")
    assert result == "handled" and busy == 503 and answered, (busy, answered, code, elapsed, err[-2000:])


def test_sigterm_with_silent_clients_connected_stops_in_time(tmp_path, corpus):
    with _silent_clients(tmp_path, 3) as (p, _):
        code, elapsed, err = cr.stop(p)
    result = corpus(cr.outcome(code, elapsed, err, ok=(0,)), "signals", "http:sigterm-with-silent-clients")
    assert result == "handled", (code, elapsed, err[-2000:])
