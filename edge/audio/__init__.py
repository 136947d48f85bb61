"""Audio on the device: WAV reading, resampling, numpy features and the streaming voice classifier."""

from __future__ import annotations
