"""Blocking calls a stop request must not wait for: opening a camera, a network stream or a FIFO.

OpenCV's open of an rtsp:// URL that never answers, or of a FIFO with no writer, blocks inside C
for as long as it likes; a signal cannot interrupt it. The call runs in a daemon thread instead,
and the caller waits in short steps on the stop event: SIGTERM ends the wait at once, and the
abandoned call (a daemon thread) never holds up the process's exit.
"""

from __future__ import annotations

import threading
import time
from typing import Callable

STEP_S = 0.05  # how often the stop event and the deadline are looked at


def call_until_stopped(fn: Callable[[], object], stop: threading.Event, timeout_s: float, what: str,
                       hint: str = "") -> bool:
    """Run `fn()`; True once it returned, False when `stop` was set first.

    Raises what `fn` raised, or OSError naming `what` when it takes longer than `timeout_s`.
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

    threading.Thread(target=target, name=f"open {what}"[:60], daemon=True).start()
    deadline = time.monotonic() + timeout_s
    while not done.wait(STEP_S):
        if stop.is_set():
            return False
        if time.monotonic() > deadline:
            raise OSError(f"{what} did not open within {timeout_s:g} s{': ' + hint if hint else ''}")
    if errors:
        raise errors[0]
    return True
