"""Home Assistant MQTT discovery: the config messages that make the device appear with its sensors."""

from __future__ import annotations

import json
import re

from .. import __version__

# (object id, name, topic key, value template, unit, icon); the fps sensor reads the stats topic.
SENSORS = (
    ("emotion", "Emotion", "state", "{{ value_json.emotion }}", None, "mdi:emoticon-outline"),
    ("confidence", "Emotion confidence", "state", "{{ (value_json.confidence * 100) | round(1) }}", "%",
     "mdi:gauge"),
    ("fps", "Frames per second", "stats", "{{ value_json.fps }}", "fps", "mdi:speedometer"),
)


def discovery_messages(discovery_prefix: str, device_id: str, topics: dict[str, str]) -> list[tuple[str, str]]:
    """(topic, payload) of each sensor's retained config; availability follows the status topic and its last will."""
    node = "edge_emotion_" + re.sub(r"[^A-Za-z0-9_]", "_", device_id)  # HA node ids allow only [A-Za-z0-9_-]
    device = {"identifiers": [node], "name": f"edge-emotion {device_id}", "manufacturer": "edge-emotion",
              "model": "edge-emotion", "sw_version": __version__}
    out = []
    for obj, name, topic_key, template, unit, icon in SENSORS:
        config = {
            "name": name,
            "unique_id": f"{node}_{obj}",
            "state_topic": topics[topic_key],
            "value_template": template,
            "availability_topic": topics["status"],
            "payload_available": "online",
            "payload_not_available": "offline",
            "icon": icon,
            "device": device,
        }
        if unit:
            config.update(unit_of_measurement=unit, state_class="measurement")
        out.append((f"{discovery_prefix}/sensor/{node}/{obj}/config", json.dumps(config, separators=(",", ":"))))
    return out
