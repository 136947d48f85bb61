"""The service manager's end of sd_notify for tests: a real bound unix datagram socket."""

from __future__ import annotations

import socket
import threading
import time


class NotifySocket:
    """The service manager's end: a bound SOCK_DGRAM socket that records (time, message) pairs."""

    def __init__(self, address: str | bytes) -> None:
        self.path = address  # what NOTIFY_SOCKET names (for a path socket)
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(address)
        self.sock.settimeout(0.05)
        self.messages: list[tuple[float, str]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                data = self.sock.recv(4096)
            except socket.timeout:
                continue
            self.messages.append((time.monotonic(), data.decode()))

    def wait_for(self, text: str, timeout: float = 2.0) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for _, m in self.messages:
                if text in m.split("\n"):
                    return m
            time.sleep(0.01)
        raise AssertionError(f"{text!r} not received; got {[m for _, m in self.messages]}")

    def pings(self, since: float = 0.0) -> list[float]:
        return [t for t, m in self.messages if m == "WATCHDOG=1" and t >= since]

    def close(self) -> None:
        self._stop.set()
        self._thread.join()
        self.sock.close()
