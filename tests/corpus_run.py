"""`edge-emotion run` as a real process for the adversarial corpus: start it, wait for a phase, signal it, time it."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
STOP_LIMIT_S = 2.0  # issue 13: every stop within 2 s


def spawn(args: list[str], stdout=subprocess.DEVNULL, **kw) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "edge.cli", "run", *args], stdout=stdout, stderr=subprocess.PIPE,
                            text=True, cwd=ROOT, **kw)


def wait_for_log(p: subprocess.Popen, text: str, timeout: float = 60.0) -> list[str]:
    """Read stderr until a line contains `text` (the phase to signal in); the lines read so far."""
    lines: list[str] = []
    done = threading.Event()

    def reader():
        for line in p.stderr:
            lines.append(line)
            if text in line:
                done.set()
                return
        done.set()

    threading.Thread(target=reader, daemon=True).start()
    if not done.wait(timeout) or not any(text in line for line in lines):
        raise AssertionError(f"never logged {text!r}: {''.join(lines)[-2000:]}")
    return lines


def stop(p: subprocess.Popen, sig: int = signal.SIGTERM, limit: float = STOP_LIMIT_S) -> tuple[int | None, float, str]:
    """Send `sig`; (exit status or None when it had not exited 10 s later, seconds to exit, the rest of stderr)."""
    t = time.monotonic()
    p.send_signal(sig)
    try:
        code = p.wait(10)
    except subprocess.TimeoutExpired:
        p.kill()
        p.wait()
        code = None
    elapsed = time.monotonic() - t
    return code, elapsed, p.stderr.read()


def outcome(code: int | None, elapsed: float, err: str, ok: tuple[int, ...], limit: float = STOP_LIMIT_S) -> str:
    """The corpus outcome of one run: hang (over the limit), crash (traceback, unexpected status), else its kind."""
    if code is None or elapsed > limit:
        return "hang"
    if "Traceback" in err or code not in ok:
        return "crash"
    return "clean error" if code in (2, 3) else "handled"


class SilentServer:
    """A TCP server on loopback that accepts connections and never says a word (a camera or broker that hangs)."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.conns: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                self.conns.append(self.sock.accept()[0])
            except OSError:
                return

    def close(self) -> None:
        for c in self.conns:
            c.close()
        self.sock.close()


def fifo(path: Path) -> Path:
    os.mkfifo(path)
    return path
