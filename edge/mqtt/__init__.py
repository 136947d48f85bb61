"""The device's MQTT: the [mqtt] section's rules (`settings`), the device id, the paho client (`client`) and the one
connection per broker that publishes and subscribes (`connection`). paho is imported only by `client` and
`connection`, so check-config needs none."""

from __future__ import annotations
