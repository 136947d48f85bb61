"""The [mqtt] section's rules beyond types and ranges, checked without paho (so check-config needs none).

Each function raises ConfigError naming the key; `check` collects every error of the section.
"""

from __future__ import annotations

import re
import ssl
from pathlib import Path

from ..config import ConfigError, MqttConfig
from ..credentials import read_secret
from .device_id import default_device_id


def read_password(cfg: MqttConfig) -> str | None:
    """The password from exactly one of mqtt.password, mqtt.password_env and mqtt.password_file."""
    given = [k for k in ("password", "password_env", "password_file") if getattr(cfg, k)]
    if len(given) == 1 and not cfg.username:
        raise ConfigError([f"mqtt.{given[0]} is set but mqtt.username is empty; "
                           "MQTT sends a password only with a user name"])
    return read_secret("mqtt", cfg, "password") or None


def topic_base(cfg: MqttConfig) -> tuple[str, str]:
    """(device id, '<prefix>/<device id>'), checked for characters MQTT topics cannot carry."""
    device = cfg.device_id or default_device_id()
    if re.search(r"[+#/]", device) or not device:
        raise ConfigError([f"mqtt.device_id = {device!r}: must be non-empty, without '+', '#' or '/'"])
    if re.search(r"[+#]", cfg.prefix) or cfg.prefix.startswith("/") or cfg.prefix.endswith("/") or not cfg.prefix:
        raise ConfigError([f"mqtt.prefix = {cfg.prefix!r}: must be non-empty, without '+', '#' or a leading or "
                           "trailing '/'"])
    return device, f"{cfg.prefix}/{device}"


def client_id(cfg: MqttConfig, device_id: str) -> str:
    """mqtt.client_id, else one derived from the device id (so two devices never share one)."""
    return cfg.client_id or f"edge-emotion-{device_id}"


def tls_files(cfg: MqttConfig) -> dict[str, str]:
    """The TLS files, checked to exist and to load (a wrong key for the certificate, a PEM that is not one)."""
    files = {k: getattr(cfg, k) for k in ("ca_file", "cert_file", "key_file")}
    for key, value in files.items():
        if value and not Path(value).is_file():
            raise ConfigError([f"mqtt.{key} = {value!r}: file not found"])
    if files["key_file"] and not files["cert_file"]:
        raise ConfigError(["mqtt.key_file is set but mqtt.cert_file is empty"])
    try:
        ctx = ssl.create_default_context(cafile=files["ca_file"] or None)
        if files["cert_file"]:
            ctx.load_cert_chain(files["cert_file"], files["key_file"] or None)
    except (ssl.SSLError, OSError, ValueError) as e:
        raise ConfigError([f"mqtt TLS files (ca_file, cert_file, key_file) could not be loaded: {e}"]) from None
    return files


def check(cfg: MqttConfig) -> list[str]:
    """Every error of the [mqtt] section (empty when it is usable)."""
    errors: list[str] = []
    steps = [lambda: read_password(cfg), lambda: topic_base(cfg)]
    if cfg.tls:
        steps.append(lambda: tls_files(cfg))
    for step in steps:
        try:
            step()
        except ConfigError as e:
            errors += e.errors
    if cfg.reconnect_min_s > cfg.reconnect_max_s:
        errors.append(f"mqtt.reconnect_min_s = {cfg.reconnect_min_s:g} is more than mqtt.reconnect_max_s = "
                      f"{cfg.reconnect_max_s:g}")
    if not cfg.host.strip():
        errors.append("mqtt.host is empty: give the broker's host name or address")
    if cfg.discovery and (not cfg.discovery_prefix or re.search(r"[+#]", cfg.discovery_prefix)):
        errors.append(f"mqtt.discovery_prefix = {cfg.discovery_prefix!r}: must be non-empty, without '+' or '#'")
    return errors
