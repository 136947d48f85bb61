"""Publishers, registered by name in edge/registry.py; paho-mqtt is imported only when MQTT is chosen."""

from __future__ import annotations

from ..registry import PUBLISHERS, load
from .base import Publisher


def publisher_class(name: str) -> type[Publisher]:
    if name not in PUBLISHERS:
        raise ValueError(f"unknown publisher {name!r}; choose one of {', '.join(PUBLISHERS)}")
    return load(PUBLISHERS, name, "publisher", RuntimeError)
