"""The live page served by the device: camera view, per-face emotions, metrics and health ([http] config)."""

from __future__ import annotations
