"""The paho client, built one way from the [mqtt] section: protocol, credentials, TLS, last will, reconnect delays."""

from __future__ import annotations

import logging

import paho.mqtt.client as mqtt

from ..config import MqttConfig
from .settings import read_password, tls_files

PROTOCOLS = {"3.1.1": mqtt.MQTTv311, "5": mqtt.MQTTv5}


def _not_retry_noise(record: logging.LogRecord) -> bool:
    # paho 2.2 logs this at ERROR on every retry while the broker is down; the connection reports it once.
    return not str(record.msg).startswith("Client is not connected")


def make_client(cfg: MqttConfig, client_id: str, will: tuple[str, str, int] | None = None) -> mqtt.Client:
    """A paho client for the [mqtt] broker, not yet connected; `will`: (topic, payload, qos), retained."""
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, protocol=PROTOCOLS[cfg.protocol], client_id=client_id)
    paho_logger = logging.getLogger(__name__ + ".paho")
    paho_logger.addFilter(_not_retry_noise)  # a no-op when already added
    client.enable_logger(paho_logger)
    if cfg.username:
        client.username_pw_set(cfg.username, read_password(cfg))
    if cfg.tls:
        files = tls_files(cfg)
        client.tls_set(ca_certs=files["ca_file"] or None, certfile=files["cert_file"] or None,
                       keyfile=files["key_file"] or None)
    if will is not None:
        topic, payload, qos = will
        client.will_set(topic, payload, qos=qos, retain=True)
    client.reconnect_delay_set(cfg.reconnect_min_s, cfg.reconnect_max_s)
    return client
