"""Workstation stage: train, quantize and validate the models that edge/ runs."""

from __future__ import annotations
