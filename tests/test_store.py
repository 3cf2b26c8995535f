from __future__ import annotations

from pathlib import Path

import pytest

from benchmark.errors import UserError
from benchmark.space import Space
from benchmark.store import (FORMAT_VERSION, SQLITE_BUSY_SECONDS, DatasetRecord, EvaluationRecord,
                             RunRecord, Store, StudyRecord, now, optuna_storage)


def _run(store: Store, run_id: str, **extra) -> None:
    with store.session() as session:
        session.add(RunRecord(id=run_id, suite_name="s", suite_yaml="name: s\n", suite={"name": "s"},
                              suite_hash="abc", seed=1, status="finished", environment={"cpu": "x"},
                              started_at=now(), **extra))


def test_round_trip(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'sub' / 'db.sqlite'}"
    store = Store(url)
    _run(store, "r1")
    with store.session() as session:
        session.add(DatasetRecord(run_id="r1", name="digits", source="sklearn:digits",
                                  summary={"split_sizes": {"train": 3}}))
        study = StudyRecord(run_id="r1", dataset="digits", model="m", model_name="lenet5",
                            optuna_study="r1/digits/m", metric="accuracy", direction="maximize",
                            space=Space.from_spec({"lr": {"low": 0.1, "high": 1.0}}).to_data(),
                            best_params={"lr": 0.5})
        session.add(study)
        session.flush()
        session.add(EvaluationRecord(study_id=study.id, repeat=0, seed=3, metrics={"accuracy": 0.9},
                                     confusion=[[1, 0], [0, 1]], history=[{"loss": 1.0}],
                                     n_params=10, fit_seconds=1.5))
    reopened = Store(url, create=False).resolve("r1")
    assert reopened.environment == {"cpu": "x"}
    assert reopened.datasets[0].summary["split_sizes"]["train"] == 3
    assert reopened.studies[0].best_params == {"lr": 0.5}
    # The space is stored as data: what was searched comes back as Optuna's distribution.
    assert Space.from_data(reopened.studies[0].space).distributions["lr"].high == 1.0
    assert reopened.studies[0].evaluations[0].confusion == [[1, 0], [0, 1]]
    assert reopened.format_version == FORMAT_VERSION


def test_latest_and_unknown_runs(tmp_path: Path) -> None:
    store = Store(f"sqlite:///{tmp_path / 'db.sqlite'}")
    _run(store, "old")
    _run(store, "new")
    assert store.resolve("latest").id == "new"
    with pytest.raises(UserError, match="run 'nope' not found .* latest runs: new, old"):
        store.resolve("nope")


def test_missing_database_is_a_user_error(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="no database there"):
        Store(f"sqlite:///{tmp_path / 'absent.db'}", create=False)
    assert not (tmp_path / "absent.db").exists()


def test_newer_format_is_refused(tmp_path: Path) -> None:
    store = Store(f"sqlite:///{tmp_path / 'db.sqlite'}")
    _run(store, "future", format_version=FORMAT_VERSION + 1)
    with pytest.raises(UserError, match="newer benchmark"):
        store.resolve("future")


def test_sqlite_is_shared_through_the_write_ahead_log_and_writers_wait(tmp_path: Path) -> None:
    # The run, its worker and pollers write and read one file at once: with the
    # default rollback journal and sqlite3's 5 s wait, CI saw "database is locked".
    import sqlite3

    path = tmp_path / "db.sqlite"
    store = Store(f"sqlite:///{path}")
    with sqlite3.connect(path) as plain:  # a process that knows nothing of the tool
        assert plain.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    for engine in (store.engine, optuna_storage(store.url).engine):
        with engine.connect() as connection:
            waits_ms = connection.exec_driver_sql("PRAGMA busy_timeout").scalar()
        assert waits_ms == SQLITE_BUSY_SECONDS * 1000
