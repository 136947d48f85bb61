"""JSON lines on standard output."""

from __future__ import annotations

import json
import logging
import os
import sys
from typing import IO, Any

from .base import Publisher

logger = logging.getLogger(__name__)


class StdoutPublisher(Publisher):
    name = "stdout"

    def __init__(self, stream: IO[str] | None = None) -> None:
        self.stream = stream or sys.stdout
        self.failed = 0
        self.reader_gone = False  # the reading end of a pipe closed (`edge-emotion run | head`): nobody listens

    def publish(self, result: dict[str, Any]) -> None:
        try:
            self.stream.write(json.dumps(result, separators=(",", ":")) + "\n")
            self.stream.flush()
        except BrokenPipeError:
            self.failed += 1
            if not self.reader_gone:
                self.reader_gone = True
                logger.info("stdout reader closed the pipe")
                # Later flushes (interpreter exit included) must not raise again on the dead pipe.
                try:
                    self.stream = open(os.devnull, "w")
                except OSError:
                    pass
        except (OSError, ValueError) as e:  # closed stream, full disk: count, never raise
            self.failed += 1
            if self.failed == 1:
                logger.warning("stdout publish failed: %s", e)

    def stats(self) -> dict[str, Any]:
        return {"failed": self.failed, "reader_gone": self.reader_gone}

    def close(self, timeout: float = 1.0) -> None:
        try:
            self.stream.flush()
        except (OSError, ValueError):
            pass
