"""The publisher interface: results leave the device through one of these."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any


class Publisher(ABC):
    """`publish` must never block the inference loop nor raise into it."""

    name = "base"
    connection = None  # the broker connection results leave by (MQTT), which inputs from that broker share
    reader_gone = False  # nobody reads the results any more (stdout's pipe closed): the loop stops

    @classmethod
    def from_config(cls, cfg, **options: Any) -> "Publisher":
        """Built from the config (`run`, `edge-bench pipeline`); `options` override what the config gives (a
        publisher ignores those it does not take: `stream` means nothing to MQTT)."""
        return cls(**options)

    @abstractmethod
    def publish(self, result: dict[str, Any]) -> None:
        """Send one result (the documented JSON object, as a dict)."""

    def publish_event(self, event: dict[str, Any]) -> None:
        """One tracked-face event (schema edge-emotion/event/1); publishers without an events channel ignore it."""

    def publish_stats(self, stats: dict[str, Any]) -> None:
        """Periodic health figures; publishers without a stats channel ignore them."""

    def stats(self) -> dict[str, Any]:
        """Counters for the runtime's health report; empty when the publisher keeps none."""
        return {}

    def close(self, timeout: float = 1.0) -> None:
        """Flush what can be flushed within `timeout` seconds and release resources."""
