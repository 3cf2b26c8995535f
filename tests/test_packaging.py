"""The templates must be found when the package is installed non-editable."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

from conftest import REPO


def test_wheel_ships_the_templates(tmp_path: Path) -> None:
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
                    "-q", "-w", str(tmp_path), str(REPO)], check=True, capture_output=True)
    wheel = next(tmp_path.glob("suitebench-*.whl"))
    names = zipfile.ZipFile(wheel).namelist()
    assert "benchmark/templates/report.html.j2" in names
    assert "benchmark/templates/report.css" in names
    assert "benchmark/__main__.py" in names
    assert not any(name.startswith(("tests/", "reports/")) for name in names)
