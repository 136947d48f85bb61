"""Publishers, a registry keyed by name; paho-mqtt is imported only when MQTT is chosen."""

from __future__ import annotations

import importlib

from .base import Publisher

PUBLISHERS = {
    "stdout": ("edge.publish.stdout", "StdoutPublisher", None),
    "mqtt": ("edge.publish.mqtt", "MqttPublisher", "paho-mqtt"),
}


def publisher_class(name: str) -> type[Publisher]:
    if name not in PUBLISHERS:
        raise ValueError(f"unknown publisher {name!r}; choose one of {', '.join(PUBLISHERS)}")
    module, cls, package = PUBLISHERS[name]
    try:
        return getattr(importlib.import_module(module), cls)
    except ImportError as e:
        raise RuntimeError(f"publisher {name!r} needs the package {package}: pip install {package} ({e})") from None
