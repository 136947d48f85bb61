"""Blocking calls a stop request must not wait for: opening a camera, a network stream or a FIFO.

OpenCV's open of an rtsp:// URL that never answers, or of a FIFO with no writer, blocks inside C
for as long as it likes; a signal cannot interrupt it. The call runs in a daemon thread instead,
and the caller waits in short steps on the stop event: SIGTERM ends the wait at once, and the
abandoned call (a daemon thread) never holds up the process's exit.

One catch: a daemon thread that comes back from C++ (OpenCV, PortAudio) while the interpreter is
finalising is ended with pthread_exit, whose unwinding through C++ frames aborts the process
("terminate called without an active exception"). So threads left behind are registered here,
and `exit_now_if_abandoned` ends the process without finalisation while any of them runs.
"""

from __future__ import annotations

import logging
import os
import sys
import threading
import time
from typing import Callable

STEP_S = 0.05  # how often the stop event and the deadline are looked at
_abandoned: list[threading.Thread] = []


def abandon(thread: threading.Thread) -> None:
    """Leave `thread` (stuck in a blocking call) to the process's exit."""
    _abandoned.append(thread)


def exit_now_if_abandoned(code: int) -> None:
    """End the process with `code` at once (streams flushed, no interpreter finalisation) if a left thread runs."""
    if not any(t.is_alive() for t in _abandoned):
        return
    logging.shutdown()
    for stream in (sys.stdout, sys.stderr):
        try:
            if stream is not None:
                stream.flush()
        except (OSError, ValueError):
            pass
    os._exit(code)


def call_until_stopped(fn: Callable[[], object], stop: threading.Event, timeout_s: float, what: str,
                       hint: str = "", grace_s: float = 0.0) -> bool:
    """Run `fn()`; True once it returned, False when `stop` was set first.

    Raises what `fn` raised, or OSError naming `what` when it takes longer than `timeout_s` (+ `grace_s`, for
    calls with a timeout of their own that should fire first).
    """
    done = threading.Event()
    errors: list[BaseException] = []

    def target() -> None:
        try:
            fn()
        except BaseException as e:  # noqa: BLE001 - handed to the waiting caller
            errors.append(e)
        finally:
            done.set()

    thread = threading.Thread(target=target, name=f"open {what}"[:60], daemon=True)
    thread.start()
    deadline = time.monotonic() + timeout_s + grace_s
    while not done.wait(STEP_S):
        if stop.is_set():
            abandon(thread)
            return False
        if time.monotonic() > deadline:
            abandon(thread)
            raise OSError(f"{what} did not open within {timeout_s:g} s{': ' + hint if hint else ''}")
    if errors:
        raise errors[0]
    return True
