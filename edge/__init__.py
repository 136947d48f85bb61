"""edge-emotion: face, voice and text emotion recognition on the device."""

from __future__ import annotations

__version__ = "0.1.0"
