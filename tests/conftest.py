from __future__ import annotations

import os
import random
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(autouse=True)
def _seeded() -> None:
    random.seed(0)
    np.random.seed(0)


def write_suite(directory: Path, text: str, name: str = "suite.yaml") -> Path:
    path = directory / name
    path.write_text(textwrap.dedent(text))
    return path


def run_cli(*args: str, cwd: Path, timeout: float = 600) -> subprocess.CompletedProcess:
    """``python -m benchmark ...`` as a user runs it, in its own process."""
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    result = subprocess.run([sys.executable, "-m", "benchmark", *args], cwd=cwd, env=env,
                            capture_output=True, text=True, timeout=timeout)
    result.cwd = cwd  # where relative paths in its output start
    return result


# A small but complete suite: two real CNNs, two epochs, three trials each, and a
# third entry whose learning rate makes every trial diverge (NaN loss).
TINY_SUITE = """
    name: tiny
    description: A tiny two-model comparison for the tests.
    datasets:
      digits:
        source: sklearn:digits
        split: {train: 0.6, validation: 0.2, test: 0.2}
    models:
      - model: lenet5
        search:
          learning_rate: {low: 1.0e-3, high: 1.0e-2, log: true}
          batch_size: {choices: [32, 64]}
          pooling: {choices: [average, max]}
          epochs: 2
      - model: custom_cnn
        search:
          learning_rate: {low: 1.0e-3, high: 1.0e-2, log: true}
          filters_1: {low: 4, high: 8, step: 4}
          filters_2: 8
          epochs: 2
      - model: custom_cnn
        name: diverging
        search:
          optimizer: sgd
          learning_rate: 1.0e+12
          filters_1: 4
          filters_2: 8
          epochs: 2
    study:
      n_trials: 3
      pruner: none
      seed: 7
    """


@pytest.fixture(scope="session")
def tiny_run(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """The tiny suite run twice with the same seed into one database (slow part shared)."""
    workdir = tmp_path_factory.mktemp("tiny")
    suite = write_suite(workdir, TINY_SUITE, "tiny.yaml")
    results = [run_cli("run", str(suite), cwd=workdir) for _ in range(2)]
    return {"workdir": workdir, "suite": suite, "results": results,
            "storage": f"sqlite:///{workdir / 'reports' / 'benchmark.db'}"}


@pytest.fixture(scope="session")
def postgres_server() -> str:
    """A real PostgreSQL server for the session (tests/postgres.py)."""
    import postgres

    with postgres.server() as url:
        yield url


@pytest.fixture(params=["sqlite", "postgresql"])
def storage(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The same test on an SQLite file and on a fresh PostgreSQL database."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'bench.db'}"
    import postgres

    import uuid

    name = "t_" + uuid.uuid4().hex[:12]
    return postgres.fresh_database(request.getfixturevalue("postgres_server"), name)
