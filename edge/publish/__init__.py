"""Publishers, a registry keyed by name; paho-mqtt is imported only when MQTT is chosen."""

from __future__ import annotations

from ..registry import import_class
from .base import Publisher

PUBLISHERS = {
    "stdout": ("edge.publish.stdout", "StdoutPublisher", None),
    "mqtt": ("edge.publish.mqtt", "MqttPublisher", "paho-mqtt"),
}


def publisher_class(name: str) -> type[Publisher]:
    if name not in PUBLISHERS:
        raise ValueError(f"unknown publisher {name!r}; choose one of {', '.join(PUBLISHERS)}")
    return import_class("publisher", name, *PUBLISHERS[name], error=RuntimeError)
