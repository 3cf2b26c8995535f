"""Fixtures of the speed benchmarks (benchmarks/test_speed.py)."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[str]:
    """A real PostgreSQL server on loopback for the session (tests/postgres.py)."""
    import postgres

    with postgres.server() as url:
        yield url
