"""What a run ran on: enough to explain why two runs differ."""

from __future__ import annotations

import os
import platform
import subprocess
import sys
from pathlib import Path
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


def suite_commit(suite_file: str | None) -> dict[str, Any] | None:
    """The git commit of the repository holding the suite file, and whether the
    file differs from it; None outside a repository or without git."""
    if not suite_file or not Path(suite_file).is_file():
        return None
    folder = str(Path(suite_file).resolve().parent)
    try:
        commit = subprocess.run(["git", "-C", folder, "rev-parse", "HEAD"], capture_output=True,
                                text=True, timeout=10)
        if commit.returncode != 0:
            return None
        changed = subprocess.run(["git", "-C", folder, "status", "--porcelain", "--",
                                  str(Path(suite_file).resolve())],
                                 capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return {"commit": commit.stdout.strip(), "suite_modified": bool(changed.stdout.strip())}


def capture(suite_file: str | None = None) -> dict[str, Any]:
    """Versions and hardware, read without importing TensorFlow (the device is
    added by the first worker, which has it imported anyway), and the git commit
    of the suite's repository when there is one."""
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
        "suite_git": suite_commit(suite_file),
        # Which process wrote the run, so that a run left 'running' by a killed
        # process can be told from one still going (Store.mark_interrupted).
        **process_identity(),
    }


def process_identity() -> dict[str, Any]:
    """This process as a run records its owner: the pid, and when the process was
    created (a pid alone is reused after the process ends, or after a reboot)."""
    import psutil

    return {"pid": os.getpid(), "pid_created": psutil.Process().create_time()}


def machine(environment: dict[str, Any]) -> dict[str, Any]:
    """The machine description that makes timings comparable: the hardware, not
    the host name (CI runners of one type share a description, not a name)."""
    return {key: environment.get(key) for key in ("cpu", "cpu_count", "memory_gib", "device")}
