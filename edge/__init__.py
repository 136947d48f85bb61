"""edge-emotion: face and voice emotion recognition on the device."""

__version__ = "0.1.0"
