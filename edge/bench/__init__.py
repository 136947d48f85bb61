"""edge-bench: latency and accuracy reports that say what they ran on."""

from __future__ import annotations
