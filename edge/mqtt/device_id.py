"""The default device id: the host name plus a short hash of the machine id, stable and distinct.

Every Raspberry Pi is called `raspberrypi`; two of them on one broker with the host name as their
id share topics and knock each other off (one MQTT client id). /etc/machine-id is unique per
installation (Raspberry Pi OS and Jetson images create it on first boot) and survives reboots;
only a hash of it is shown, never the id itself (machine-id(5) asks applications not to expose it).
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import os
import re
import secrets
import socket
import uuid
from pathlib import Path

logger = logging.getLogger(__name__)

MACHINE_ID_FILES = ("/etc/machine-id", "/var/lib/dbus/machine-id")
APP_KEY = b"edge-emotion/device-id"  # the hash is specific to this application, like sd_id128_get_machine_app_specific
SUFFIX_HEX = 8  # 32 bits: two devices of one host name collide with probability 2^-32


def host_part() -> str:
    """The host name with every character MQTT topics and Home Assistant ids dislike replaced by '-'."""
    return re.sub(r"[^A-Za-z0-9_.-]", "-", socket.gethostname()) or "edge"


def _digest(secret: bytes) -> str:
    return hmac.new(secret, APP_KEY, hashlib.sha256).hexdigest()[:SUFFIX_HEX]


def machine_secret(machine_id_files=None, state_dir: str | None = None) -> bytes:
    """What identifies this installation: the machine id, else the network MAC, else a random id kept on disk."""
    for name in machine_id_files or MACHINE_ID_FILES:
        try:
            text = Path(name).read_text().strip()
        except OSError:
            continue
        if re.fullmatch(r"[0-9a-f]{32}", text):  # an empty or 'uninitialized' file is no id
            return text.encode()
    node = uuid.getnode()
    if not node >> 40 & 1:  # a real MAC; uuid sets the multicast bit on the random number it falls back to
        return node.to_bytes(6, "big")
    # No machine id and no MAC (a minimal container): a random id, kept where the service keeps its state.
    folder = Path(state_dir or os.environ.get("STATE_DIRECTORY", "").split(":")[0] or
                  Path.home() / ".local" / "state" / "edge-emotion")
    path = folder / "device-id"
    try:
        text = path.read_text().strip()
        if re.fullmatch(r"[0-9a-f]{32}", text):
            return text.encode()
    except OSError:
        pass
    text = secrets.token_hex(16)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        path.write_text(text + "\n")
    except OSError as e:
        logger.warning("no machine id, no MAC address and %s is not writable (%s): the device id changes at "
                       "every start; set mqtt.device_id", path, e.strerror or e)
    return text.encode()


def default_device_id() -> str:
    """'<host name>-<8 hex digits>', e.g. 'raspberrypi-3f9a2c1b'."""
    return f"{host_part()}-{_digest(machine_secret())}"
