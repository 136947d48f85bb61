"""What a benchmark ran on: CPU, clocks, temperature, throttling, OS and library versions."""

from __future__ import annotations

import glob
import hashlib
import importlib.metadata as md
import os
import platform
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

from edge.health import temperatures_c

# Distributions whose versions decide the numbers; absent ones are left out.
LIBRARIES = ("edge-emotion", "numpy", "opencv-python-headless", "opencv-python", "opencv-contrib-python",
             "opencv-contrib-python-headless",
             "ai-edge-litert", "tflite-runtime", "onnxruntime", "onnxruntime-gpu", "psutil")


def _read(path: str) -> str | None:
    try:
        return Path(path).read_text(errors="replace").strip("\x00\n ")
    except OSError:
        return None


def _run(cmd: list[str]) -> str | None:
    """Output of a vendor tool (vcgencmd, nvpmodel) when it is installed, else None."""
    if not shutil.which(cmd[0]):
        return None
    try:
        return subprocess.run(cmd, capture_output=True, text=True, timeout=5).stdout.strip() or None
    except (OSError, subprocess.SubprocessError):
        return None


def cpu_model() -> str:
    text = _read("/proc/cpuinfo") or ""
    for key in ("model name", "Hardware", "Model"):  # x86, older ARM kernels, Raspberry Pi
        for line in text.splitlines():
            if line.startswith(key) and ":" in line:
                return line.split(":", 1)[1].strip()
    return platform.processor() or platform.machine()


def frequencies_mhz() -> list[float]:
    out = []
    for p in sorted(glob.glob("/sys/devices/system/cpu/cpu[0-9]*/cpufreq/scaling_cur_freq")):
        v = _read(p)
        if v and v.isdigit():
            out.append(int(v) / 1000.0)
    return out


def library_versions() -> dict[str, str]:
    versions = {}
    for name in LIBRARIES:
        try:
            versions[name] = md.version(name)
        except md.PackageNotFoundError:
            continue
    return versions


def sha256(path: str | Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def system_info() -> dict[str, Any]:
    """One dict that names the machine and its state when the benchmark started."""
    import psutil  # runtime dependency; imported here so `import edge.bench.system` stays cheap

    os_release = _read("/etc/os-release") or ""
    pretty = next((ln.split("=", 1)[1].strip('"') for ln in os_release.splitlines() if ln.startswith("PRETTY_NAME=")), None)
    freqs = frequencies_mhz()
    info: dict[str, Any] = {
        "cpu": cpu_model(),
        "board": _read("/proc/device-tree/model"),  # "Raspberry Pi 4 Model B Rev 1.4", Jetson boards
        "machine": platform.machine(),
        "cores_logical": os.cpu_count(),
        "cores_physical": psutil.cpu_count(logical=False),
        "governor": _read("/sys/devices/system/cpu/cpu0/cpufreq/scaling_governor"),
        "freq_mhz": {"min": min(freqs), "max": max(freqs)} if freqs else None,
        "freq_max_mhz": (int(_read("/sys/devices/system/cpu/cpu0/cpufreq/cpuinfo_max_freq") or 0) / 1000.0) or None,
        "temperature_c": temperatures_c() or None,
        "throttled": _run(["vcgencmd", "get_throttled"]),  # Raspberry Pi: throttled=0x0 means never throttled
        "jetson_release": _read("/etc/nv_tegra_release"),
        "power_mode": _run(["nvpmodel", "-q"]),  # Jetson: e.g. "NV Power Mode: MAXN"
        "load_avg": [round(x, 2) for x in os.getloadavg()] if hasattr(os, "getloadavg") else None,
        "memory_mb": round(psutil.virtual_memory().total / 2**20),
        "os": pretty or platform.platform(),
        "kernel": platform.release(),
        "python": platform.python_version(),
        "python_executable": sys.executable,
        "libraries": library_versions(),
    }
    return info  # None: not readable on this machine, kept so the report says so
