"""sd_notify for the systemd service: READY, STOPPING, STATUS and a progress-gated watchdog.

Speaks the datagram protocol of sd_notify(3) over `$NOTIFY_SOCKET` itself (no python-systemd);
every method is a no-op when the variable is unset, so the same loop runs in a terminal.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
from collections.abc import Mapping

logger = logging.getLogger(__name__)


def watchdog_interval(env: Mapping[str, str], pid: int) -> float | None:
    """Seconds between pings (half of WatchdogSec), or None when this process has no watchdog."""
    usec = env.get("WATCHDOG_USEC", "")
    owner = env.get("WATCHDOG_PID", "")
    if not usec:
        return None
    if owner and owner != str(pid):
        return None  # the watchdog belongs to another process (e.g. we are a child of the service)
    try:
        timeout_s = int(usec) / 1e6
    except ValueError:
        logger.warning("ignoring WATCHDOG_USEC=%r: not an integer", usec)
        return None
    # Half the timeout, as sd_watchdog_enabled(3) recommends: one late ping never trips it.
    return timeout_s / 2 if timeout_s > 0 else None


class Notifier:
    """Tells systemd how the service is doing; pings the watchdog only while `progress()` is called."""

    def __init__(self, env: Mapping[str, str] | None = None, watchdog: bool = True) -> None:
        env = os.environ if env is None else env
        self.address = _socket_address(env.get("NOTIFY_SOCKET", ""))
        self.interval = watchdog_interval(env, os.getpid()) if watchdog and self.address else None
        self.pings = 0
        self._sock: socket.socket | None = None
        self._progressed = False
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._warned = False

    @classmethod
    def from_env(cls, watchdog: bool = True) -> "Notifier":
        """The notifier for this process, from the environment systemd gave it."""
        return cls(os.environ, watchdog)

    @property
    def enabled(self) -> bool:
        return self.address is not None

    def notify(self, *fields: str) -> bool:
        """Send `KEY=value` fields in one datagram; False when not under systemd or on error."""
        if self.address is None:
            return False
        try:
            if self._sock is None:
                self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC)
            self._sock.sendto("\n".join(fields).encode(), self.address)
            return True
        except OSError as e:
            if not self._warned:  # a gone socket must not flood the log nor stop the pipeline
                logger.warning("sd_notify to %r failed: %s", self.address, e)
                self._warned = True
            return False

    def ready(self, status: str | None = None) -> bool:
        """Models are loaded and the first input was read: start-up is complete; the watchdog starts."""
        sent = self.notify("READY=1", *([f"STATUS={status}"] if status else []))
        if self.interval and self._thread is None:
            self._progressed = True  # READY itself counts: the first ping goes out one interval later
            self._thread = threading.Thread(target=self._watchdog, name="sd-watchdog", daemon=True)
            self._thread.start()
            logger.info("systemd watchdog: pinging every %.1f s while frames or audio are processed", self.interval)
        return sent

    def status(self, text: str) -> bool:
        """One line shown by `systemctl status`."""
        return self.notify(f"STATUS={text}")

    def progress(self) -> None:
        """Call once per processed frame or audio window; cheap enough for the hot path."""
        self._progressed = True

    def stopping(self, status: str | None = None) -> bool:
        """Shutdown has begun: stop pinging and tell systemd."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=1.0)
        return self.notify("STOPPING=1", *([f"STATUS={status}"] if status else []))

    def close(self) -> None:
        self._stop.set()
        if self._sock is not None:
            self._sock.close()
            self._sock = None

    def _watchdog(self) -> None:
        while not self._stop.wait(self.interval):
            if not self._progressed:
                continue  # stalled: no ping, and systemd restarts us after WatchdogSec
            self._progressed = False
            if self.notify("WATCHDOG=1"):
                self.pings += 1


def _socket_address(value: str) -> str | bytes | None:
    """`$NOTIFY_SOCKET` as a sendto() address: a path, or '@name' for the abstract namespace."""
    if not value:
        return None
    if value.startswith("@"):
        return b"\0" + value[1:].encode()
    if value.startswith("/"):
        return value
    logger.warning("ignoring NOTIFY_SOCKET=%r: only unix socket paths and @abstract names are supported", value)
    return None
