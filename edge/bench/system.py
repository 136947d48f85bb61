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

from edge.service.health import temperatures_c

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


# The instruction-set features that decide int8 speed (issue 10: a model tuned on an AMX Xeon ran 16x slower on an
# AVX2-only core). x86: VNNI (AVX-512 or AVX) adds a fused u8*s8 dot product, AMX int8 tile multiplies; without
# them int8 kernels fall back to VPMADDUBSW/VPMADDWD on AVX2. ARM: asimddp (SDOT/UDOT, Cortex-A76/A78/Orin,
# absent on the Nano's A57 and the Pi 4's A72), i8mm (SMMLA, Armv8.6), sve.
ISA_FEATURES = {
    "x86": ("sse4_2", "avx2", "fma", "avx512f", "avx512bw", "avx512_vnni", "avx_vnni", "avx512_bf16", "amx_tile",
            "amx_int8", "amx_bf16"),
    "arm": ("asimd", "asimddp", "asimdhp", "i8mm", "sve", "sve2", "bf16"),
}


# Set by benchmarks/avx2_emulated.sh: under qemu-user, /proc/cpuinfo still shows the host's CPU, not the emulated one.
EMULATED_ENV = "EDGE_BENCH_EMULATED_CPU"  # e.g. "qemu Haswell-v4: sse4_2 avx2 fma"


def isa_features(cpuinfo: str | None = None) -> dict[str, Any]:
    """{"features": [...], "int8_path": "..."} from /proc/cpuinfo's flags (x86) or Features (ARM) line."""
    emulated = os.environ.get(EMULATED_ENV) if cpuinfo is None else None
    if emulated:
        name, _, flags = emulated.partition(":")
        isa = isa_features("flags : " + flags)
        return {**isa, "int8_path": f"{isa['int8_path']}, emulated ({name.strip()})"}
    text = _read("/proc/cpuinfo") if cpuinfo is None else cpuinfo
    flags: set[str] = set()
    for line in (text or "").splitlines():
        key, _, value = line.partition(":")
        if key.strip() in ("flags", "Features"):
            flags.update(value.split())
    if not flags:
        return {"features": None, "int8_path": "unknown (no CPU flags readable)"}
    known = ISA_FEATURES["x86"] + ISA_FEATURES["arm"]
    present = [f for f in known if f in flags]
    if "amx_int8" in flags:
        path = "x86 AMX int8 tiles (much faster int8 than any target device)"
    elif "avx512_vnni" in flags or "avx_vnni" in flags:
        path = "x86 VNNI dot product"
    elif "avx2" in flags:
        path = "x86 AVX2 without VNNI (ordinary x86 core)"
    elif "asimddp" in flags:
        path = "ARM with int8 dot product (e.g. Cortex-A76, Orin)"
    elif "asimd" in flags:
        path = "ARM NEON without int8 dot product (e.g. Cortex-A57 Jetson Nano, A72 Pi 4)"
    else:
        path = "other"
    return {"features": present, "int8_path": path}


def isa_line(info: dict[str, Any] | None = None) -> str:
    """One line for every speed figure: 'CPU: <model>; int8 path: <path>; features: a b c'."""
    isa = (info or {}).get("isa") or isa_features()
    cpu = (info or {}).get("cpu") or cpu_model()
    feats = " ".join(isa["features"]) if isa["features"] else "not readable"
    return f"CPU: {cpu}; int8 path: {isa['int8_path']}; features: {feats}"


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
        "isa": isa_features(),
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
