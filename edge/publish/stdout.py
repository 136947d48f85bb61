"""JSON lines on standard output."""

from __future__ import annotations

import json
import logging
import sys
from typing import IO, Any

from .base import Publisher

logger = logging.getLogger(__name__)


class StdoutPublisher(Publisher):
    name = "stdout"

    def __init__(self, stream: IO[str] | None = None) -> None:
        self.stream = stream or sys.stdout
        self.failed = 0

    def publish(self, result: dict[str, Any]) -> None:
        try:
            self.stream.write(json.dumps(result, separators=(",", ":")) + "\n")
            self.stream.flush()
        except (OSError, ValueError) as e:  # closed pipe, closed stream: count, never raise
            self.failed += 1
            if self.failed == 1:
                logger.warning("stdout publish failed: %s", e)

    def close(self, timeout: float = 1.0) -> None:
        try:
            self.stream.flush()
        except (OSError, ValueError):
            pass
