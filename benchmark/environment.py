"""What a run ran on: enough to explain why two runs differ."""

from __future__ import annotations

import os
import platform
import sys
from importlib import metadata
from typing import Any

PACKAGES = ["tensorflow", "keras", "optuna", "optuna-integration", "scikit-learn", "numpy",
            "pandas", "scipy", "matplotlib", "weasyprint", "SQLAlchemy", "suitebench"]


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def capture() -> dict[str, Any]:
    """Versions and hardware, read without importing TensorFlow (the device is
    added by the first worker, which has it imported anyway)."""
    import psutil

    versions = {}
    for package in PACKAGES:
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            versions[package] = None
    return {
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "hostname": platform.node(),
        "cpu": _cpu_model(),
        "cpu_count": os.cpu_count(),
        "memory_gib": round(psutil.virtual_memory().total / 2**30, 1),
        "packages": versions,
        "device": None,
    }
