"""Fusion and smoothing: `fusion` (late fusion keyed by channel), `track` (per-face tracks and their smoothing),
`events` (new / update / end per tracked face)."""

from __future__ import annotations
