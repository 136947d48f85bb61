"""Running as a service: `install` (the systemd unit), `notify` (sd_notify readiness and watchdog), `health`
(process figures for the stats report and /metrics)."""

from __future__ import annotations
