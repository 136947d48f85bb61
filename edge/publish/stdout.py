"""JSON lines on standard output, written by a thread of their own so a stalled reader never stalls the loop.

A pipe whose reader stops reading fills up (64 kB on Linux) and then blocks every write; a blocked
write in the loop would also hold off SIGTERM. Lines therefore go into a bounded queue that a writer
thread drains with `select` and writes of at most PIPE_BUF bytes (which a writable pipe always takes
whole), so the writer never blocks either. When the queue is full the oldest line is dropped and
counted; with `wait_s` (offline processing of a file) a line first waits that long for room.
"""

from __future__ import annotations

import collections
import json
import logging
import os
import select
import sys
import threading
import time
from typing import IO, Any

from .base import Publisher

logger = logging.getLogger(__name__)

QUEUE_LINES = 256  # a few seconds of results at camera rates; a result line is 1-2 kB
PIPE_BUF = 4096  # POSIX: a write of this many bytes or fewer to a writable pipe does not block
POLL_S = 0.1  # the writer's longest wait before looking at the shutdown deadline again
STALL_S = 1.0  # a reader that has not read for this long is reported (once per stall)


class StdoutClosed(OSError):
    """Standard output is closed (`>&-`): there is nowhere to write results."""


class StdoutPublisher(Publisher):
    name = "stdout"

    @classmethod
    def from_config(cls, cfg, **options: Any) -> "StdoutPublisher":
        """Offline processing of a file waits a little for a slow reader before dropping a result."""
        kw = dict(wait_s=0.0 if cfg.video.realtime else 0.25, events=cfg.events.stdout)
        return cls(**{**kw, **options})

    def __init__(self, stream: IO[str] | None = None, wait_s: float = 0.0, events: bool = False) -> None:
        stream = stream if stream is not None else sys.stdout
        if stream is None:  # Python sets sys.stdout to None when descriptor 1 was closed at start
            raise StdoutClosed("standard output is closed (started with >&-?): redirect it, e.g. > results.jsonl, "
                               "or set output.publisher = \"mqtt\"")
        self.stream, self.wait_s = stream, wait_s
        self.events = events  # events.stdout: event lines between the results
        self.failed = 0
        self.dropped = 0
        self.reader_gone = False  # the reading end of a pipe closed (`edge-emotion run | head`): nobody listens
        self.stalled = False  # the reader has not read for STALL_S (reported once per stall)
        self.blocked = False  # the writer is waiting for the reader right now (the pipe is full)
        self._lines: collections.deque[bytes] = collections.deque()
        self._cond = threading.Condition()
        self._closing = False
        self._deadline = float("inf")
        self.fd = self._fd(stream)
        self._thread = None
        if self.fd is not None:
            stream.flush()  # anything written through the stream so far goes first
            self._thread = threading.Thread(target=self._writer, name="stdout-writer", daemon=True)
            self._thread.start()

    @staticmethod
    def _fd(stream: IO[str]) -> int | None:
        """The descriptor to write to, or None for in-memory streams (written directly: they cannot block)."""
        try:
            return stream.fileno()
        except (AttributeError, OSError, ValueError):
            return None

    def publish(self, result: dict[str, Any]) -> None:
        self._enqueue(result)

    def publish_event(self, event: dict[str, Any]) -> None:
        if self.events:
            self._enqueue(event)

    def _enqueue(self, result: dict[str, Any]) -> None:
        try:
            line = json.dumps(result, separators=(",", ":"), allow_nan=False) + "\n"
        except (TypeError, ValueError) as e:  # never raise into the loop; a NaN would make the line invalid JSON
            self._fail(f"result is not valid JSON: {e}")
            return
        if self.fd is None:
            try:
                self.stream.write(line)
                self.stream.flush()
            except (OSError, ValueError) as e:  # closed stream, full disk: count, never raise
                self._fail(str(e))
            return
        with self._cond:
            if self.reader_gone:
                return
            if len(self._lines) >= QUEUE_LINES and self.wait_s > 0:
                end = time.monotonic() + self.wait_s
                while len(self._lines) >= QUEUE_LINES and not self.reader_gone and time.monotonic() < end:
                    self._cond.wait(max(0.0, end - time.monotonic()))
            if len(self._lines) >= QUEUE_LINES:
                self._lines.popleft()
                self.dropped += 1
                if self.dropped & (self.dropped - 1) == 0:  # the 1st, 2nd, 4th... so a stalled reader cannot flood
                    logger.warning("stdout reader is not keeping up: dropped the oldest result (%d so far)",
                                   self.dropped)
            self._lines.append(line.encode())
            self._cond.notify_all()

    def _fail(self, why: str) -> None:
        self.failed += 1
        if self.failed == 1:
            logger.warning("stdout publish failed: %s", why)

    def _writer(self) -> None:
        while True:
            with self._cond:
                while not self._lines and not self._closing:
                    self._cond.wait()
                if not self._lines or self.reader_gone:
                    return
                data = self._lines.popleft()
                self._cond.notify_all()  # room for a waiting publish
            if not self._write(data):
                return

    def _write(self, data: bytes) -> bool:
        """Write one line without ever blocking for long; False when writing has to stop."""
        view = memoryview(data)
        waiting_since = time.monotonic()
        self.blocked = False
        while view:
            if time.monotonic() > self._deadline:
                return False
            try:
                _, ready, _ = select.select([], [self.fd], [], POLL_S)
                if not ready:
                    self.blocked = True
                    if not self.stalled and time.monotonic() - waiting_since > STALL_S:
                        self.stalled = True
                        logger.warning("stdout reader has not read for %.0f s; results wait in a queue of %d, then "
                                       "the oldest are dropped", STALL_S, QUEUE_LINES)
                    continue
                self.blocked = False
                if self.stalled:
                    self.stalled = False
                    logger.info("stdout reader reads again")
                view = view[os.write(self.fd, view[:PIPE_BUF]):]
            except BlockingIOError:
                continue
            except BrokenPipeError:
                with self._cond:
                    self.reader_gone = True
                    self.failed += 1 + len(self._lines)
                    self._lines.clear()
                    self._cond.notify_all()
                logger.info("stdout reader closed the pipe")
                return False
            except (OSError, ValueError) as e:  # a full disk, a closed descriptor: count, never raise
                with self._cond:
                    self._fail(str(e))
                return True
        return True

    def stats(self) -> dict[str, Any]:
        with self._cond:
            return {"failed": self.failed, "dropped": self.dropped, "queued": len(self._lines),
                    "stalled": self.stalled, "reader_gone": self.reader_gone}

    def close(self, timeout: float = 1.0) -> None:
        """Write what is queued within `timeout` seconds; a reader that does not read loses the rest (logged)."""
        if self._thread is None:
            try:
                self.stream.flush()
            except (OSError, ValueError):
                pass
            return
        with self._cond:
            self._closing = True
            # A reader that is not reading now (the pipe is full) will not read the rest in time: do not wait for it.
            self._deadline = time.monotonic() + (min(timeout, POLL_S) if self.blocked else timeout)
            self._cond.notify_all()
        self._thread.join(timeout + POLL_S)
        with self._cond:
            left = len(self._lines)
        if left and not self.reader_gone:
            logger.warning("stdout: %d results not written at shutdown (the reader stopped reading)", left)
