"""The tool's tables are versioned with Alembic (benchmark/migrations): a
database written by format 2 (tests/data/format2.db, made by the released code
of commit 7575a03, see tests/data/make_format2.md) is refused with the command
that upgrades it, upgrades keeping every run, and ends up exactly as the ORM
describes it, on SQLite and on PostgreSQL."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from optuna.distributions import IntDistribution
from sqlalchemy import MetaData, create_engine, select, text

from benchmark import migrate
from benchmark.errors import UserError
from benchmark.space import Space
from benchmark.store import Base, Store
from conftest import REPO, run_cli

FORMAT2 = Path(__file__).resolve().parent / "data" / "format2.db"
SUITE = "format2"
# Two finished runs of the same suite, and one killed (kill -9) during its
# second study's search, then marked 'interrupted' by the format-2 code.
FINISHED = ("20261201-103106-2b2b2e", "20261201-103122-9d1e6c")
INTERRUPTED = "20261201-103132-53c5f7"
BENCH_TABLES = ("bench_runs", "bench_datasets", "bench_studies", "bench_evaluations")
# The newest revision as the tool's lines name it: "0003" (with its format, where
# migrate.FORMATS gives one).
HEAD = migrate._describe(migrate.head()).removeprefix("revision ")


@pytest.fixture
def format2(tmp_path: Path) -> str:
    copy = tmp_path / "format2.db"
    shutil.copy(FORMAT2, copy)
    return f"sqlite:///{copy}"


def _cli(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "benchmark", *args], cwd=cwd,
                          capture_output=True, text=True, timeout=600)


def _differences(url: str) -> list:
    """What autogenerate would change to make the tool's tables equal the ORM
    (Optuna's tables, in the same database, left out)."""

    def ours(name: str | None, type_: str, parent_names: object) -> bool:
        if type_ != "table":
            return True
        return (name or "").startswith("bench_") and name != migrate.VERSION_TABLE

    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={
                "include_name": ours, "compare_type": True,
                "version_table": migrate.VERSION_TABLE})
            return compare_metadata(context, Base.metadata)
    finally:
        engine.dispose()


def _revision(url: str) -> tuple[bool, str | None]:
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            return migrate.state(connection)
    finally:
        engine.dispose()


def _counts(url: str) -> dict[str, int]:
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            return {name: connection.scalar(text(f"SELECT count(*) FROM {name}"))
                    for name in BENCH_TABLES}
    finally:
        engine.dispose()


def _optuna_revision(url: str) -> str:
    """Optuna's own revision (its ``alembic_version``), which ours leaves alone."""
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            return connection.scalar(text("SELECT version_num FROM alembic_version"))
    finally:
        engine.dispose()


@pytest.mark.slow
def test_format2_database_is_refused_then_upgraded_keeping_every_run(format2: str,
                                                                     tmp_path: Path) -> None:
    before, optuna_revision = _counts(format2), _optuna_revision(format2)
    result = run_cli("report", FINISHED[0], "--storage", format2, cwd=tmp_path)
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert lines == [f"error: --storage {format2}: the database was written by an older "
                     f"benchmark (format 2); upgrade it, keeping every run, with: "
                     f"python -m benchmark db upgrade --storage {format2}"]
    assert _revision(format2) == (True, None)  # refused, not touched

    result = run_cli("db", "upgrade", "--storage", format2, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == (f"database {format2}: upgraded from revision 0001 (format 2) "
                                     f"to {HEAD}; 3 runs kept")
    assert _revision(format2) == (True, migrate.head())
    assert _counts(format2) == before
    assert _optuna_revision(format2) == optuna_revision
    # Revision 0004 turned each study's display text into data, from the suite
    # stored with its run: "[10, 40] (int, step 10)" is Optuna's distribution again.
    engine = create_engine(format2)
    with engine.connect() as connection:
        spaces = [json.loads(stored) for (stored,) in connection.execute(
            text("SELECT space FROM bench_studies WHERE model = 'random_forest'"))]
    engine.dispose()
    assert spaces and all(Space.from_data(space).distributions["n_estimators"]
                          == IntDistribution(10, 40, step=10) for space in spaces)
    assert all(Space.from_data(space).describe() == {"n_estimators": "[10, 40] (int, step 10)",
                                                     "max_depth": "{None, 4}"}
               for space in spaces)

    # The report of a finished run (7 s: its PDF), and the comparison of both
    # finished runs, which reads the other one.
    reports = tmp_path / "reports"
    result = run_cli("report", FINISHED[0], "--storage", format2, "--reports-dir", str(reports),
                     cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    folder = reports / SUITE / FINISHED[0]
    assert (folder / "report.html").stat().st_size > 0
    assert (folder / "report.pdf").stat().st_size > 0

    result = run_cli("compare", *FINISHED, "--storage", format2, "--reports-dir", str(reports),
                     cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    folder = reports / SUITE / f"compare-{FINISHED[0]}-vs-{FINISHED[1]}"
    assert (folder / "comparison.html").stat().st_size > 0
    assert (folder / "comparison.pdf").stat().st_size > 0

    result = run_cli("history", SUITE, "--storage", format2, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    for run_id in (*FINISHED, INTERRUPTED):
        assert run_id in result.stdout
    assert "interrupted" in result.stdout

    result = run_cli("db", "upgrade", "--storage", format2, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == (f"database {format2}: already at revision {HEAD}; "
                                     f"nothing to do")
    result = run_cli("db", "current", "--storage", format2, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"database {format2}: revision {HEAD}, current"


def test_the_interrupted_run_keeps_its_finished_study(format2: str) -> None:
    migrate.upgrade(format2)
    store = Store(format2, create=False)
    run = store.resolve(INTERRUPTED)
    assert run.status == "interrupted" and run.format_version == 2
    assert run.cancel_requested_at is None
    done, killed = run.studies
    assert len(done.evaluations) == 2 and done.best_trial is not None
    assert all(evaluation.host is None for evaluation in done.evaluations)
    assert killed.evaluations == [] and killed.best_trial is None
    assert [run.status for run in store.runs(SUITE)] == ["finished", "finished", "interrupted"]
    store.engine.dispose()


def test_db_upgrade_of_a_missing_file_is_one_line(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'none.db'}"
    result = run_cli("db", "upgrade", "--storage", url, cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        f"error: --storage {url}: no database there (nothing to upgrade)"]
    assert not (tmp_path / "none.db").exists()


def _format2_on(url: str) -> None:
    """The frozen format-2 records copied into ``url`` (an empty database) as
    format 2 left them: tables of revision 0001 and no revision table."""
    target = create_engine(url)
    with target.begin() as connection:
        migrate._upgrade(connection, "0001")
        connection.execute(text(f"DROP TABLE {migrate.VERSION_TABLE}"))
    source = create_engine(f"sqlite:///{FORMAT2}")
    old, new = MetaData(), MetaData()
    old.reflect(source, only=BENCH_TABLES)
    new.reflect(target, only=BENCH_TABLES)
    with source.connect() as reading, target.begin() as writing:
        for name in BENCH_TABLES:
            rows = [dict(row) for row in reading.execute(select(old.tables[name])).mappings()]
            writing.execute(new.tables[name].insert(), rows)
    source.dispose()
    target.dispose()


def test_upgraded_format2_schema_equals_the_orm(storage: str, format2: str) -> None:
    url = format2 if storage.startswith("sqlite") else storage
    if url is storage:
        _format2_on(storage)
    before = _counts(url)
    with pytest.raises(UserError, match=r"written by an older benchmark \(format 2\); upgrade it, "
                                        r"keeping every run, with: python -m benchmark db upgrade"):
        Store(url)
    assert migrate.upgrade(url).endswith(f"upgraded from revision 0001 (format 2) to {HEAD}; "
                                         f"3 runs kept")
    assert _revision(url) == (True, migrate.head())
    assert _differences(url) == []
    assert _counts(url) == before
    store = Store(url)
    assert len(store.runs(SUITE)) == 3
    store.engine.dispose()


def test_a_new_database_is_made_at_head_and_equals_the_orm(storage: str) -> None:
    store = Store(storage)
    store.engine.dispose()
    assert _revision(storage) == (True, migrate.head()) == (True, "0007")
    assert _differences(storage) == []
    Store(storage).engine.dispose()  # opened again: nothing to do
    assert migrate.current(storage).endswith(f": revision {HEAD}, current")


def test_an_older_revision_is_refused_with_the_upgrade_command(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'old.db'}"
    engine = create_engine(url)
    with engine.begin() as connection:
        migrate._upgrade(connection, "0001")
    engine.dispose()
    with pytest.raises(UserError) as refused:
        Store(url)
    assert str(refused.value) == (
        f"--storage {url}: the database was written by an older benchmark (revision 0001 "
        f"(format 2)); upgrade it, keeping every run, with: python -m benchmark db upgrade "
        f"--storage {url}")
    assert migrate.upgrade(url) == (f"database {url}: upgraded from revision 0001 (format 2) to "
                                    f"{HEAD}; 0 runs kept")
    assert _differences(url) == []


def test_an_unknown_revision_is_a_newer_benchmark(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'newer.db'}"
    Store(url).engine.dispose()
    engine = create_engine(url)
    with engine.begin() as connection:
        connection.execute(text(f"UPDATE {migrate.VERSION_TABLE} SET version_num = '0099'"))
    engine.dispose()
    expected = (f"--storage {url}: the database was written by a newer benchmark (revision "
                f"0099); upgrade benchmark to read it")
    with pytest.raises(UserError) as refused:
        Store(url)
    assert str(refused.value) == expected
    result = run_cli("db", "upgrade", "--storage", url, cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [f"error: {expected}"]
    assert _revision(url) == (True, "0099")


def test_db_commands_mask_the_password(tmp_path: Path) -> None:
    url = "postgresql://bench:s3cret-word@127.0.0.1:1/none"  # nothing listens on port 1
    for action in ("upgrade", "current"):
        result = run_cli("db", action, "--storage", url, cwd=tmp_path)
        assert result.returncode == 2
        assert result.stderr.startswith("error: --storage postgresql://bench:***@127.0.0.1:1/none: "
                                        "cannot open the database (")
        assert "s3cret" not in result.stdout + result.stderr


@pytest.mark.slow
def test_processes_creating_an_empty_database_at_once(storage: str) -> None:
    url = storage
    start = time.time() + 3  # after every process has imported benchmark
    code = (f"import time; from benchmark.store import Store; "
            f"time.sleep(max(0, {start} - time.time())); Store({url!r}).engine.dispose()")
    processes = [subprocess.Popen([sys.executable, "-c", code], cwd=REPO, stderr=subprocess.PIPE,
                                  text=True) for _ in range(4)]
    for process in processes:
        _, stderr = process.communicate(timeout=120)
        assert process.returncode == 0, stderr
    assert _revision(url) == (True, migrate.head())
    assert _differences(url) == []


def test_wheel_ships_the_migrations(tmp_path: Path) -> None:
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
                    "-q", "-w", str(tmp_path), str(REPO)], check=True, capture_output=True)
    names = zipfile.ZipFile(next(tmp_path.glob("suitebench-*.whl"))).namelist()
    for name in ("benchmark/migrate.py", "benchmark/migrations/env.py",
                 "benchmark/migrations/versions/0001_format2.py",
                 "benchmark/migrations/versions/0002_format3.py",
                 "benchmark/migrations/versions/0003_model_info.py",
                 "benchmark/migrations/versions/0004_space_data_cost.py",
                 "benchmark/migrations/versions/0005_phases.py",
                 "benchmark/migrations/versions/0006_learning_curve.py",
                 "benchmark/migrations/versions/0007_ablation.py"):
        assert name in names


@pytest.mark.slow
def test_the_killed_format_2_run_resumes_after_the_upgrade(tmp_path: Path) -> None:
    """The frozen database's third run was killed (kill -9) during its second
    study by the last version of format 2: after `db upgrade`, `--resume`
    fails the trial it left running, keeps the finished ones (counted once:
    the budget stays exact) and finishes the run."""
    import optuna
    from optuna.trial import TrialState

    from benchmark.store import Store

    copy = tmp_path / "format2.db"
    shutil.copy(FORMAT2, copy)
    storage = f"sqlite:///{copy}"
    assert _cli("db", "upgrade", "--storage", storage, cwd=tmp_path).returncode == 0
    killed = INTERRUPTED
    before = Store(storage, create=False).resolve(killed)
    budget = before.suite["study"]["n_trials"]
    resumed = _cli("run", "--resume", killed, "--storage", storage, cwd=tmp_path)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    run = Store(storage, create=False).resolve(killed)
    assert run.status == "finished"
    assert (tmp_path / "reports" / run.suite_name / killed / "report.pdf").exists()
    for study in run.studies:
        assert study.evaluations and study.search_seconds is not None
        trials = optuna.load_study(study_name=study.optuna_study, storage=storage).trials
        assert not [t for t in trials if t.state == TrialState.RUNNING]
        cut = [t for t in trials if t.user_attrs.get("worker_died")]
        counted = [t for t in trials if not t.user_attrs.get("worker_died")]
        assert len(counted) == budget, (study.model, [(t.number, t.state) for t in trials])
        for trial in cut:
            assert trial.user_attrs["error"].startswith("interrupted")
    logistic = run.studies[1]
    trials = optuna.load_study(study_name=logistic.optuna_study, storage=storage).trials
    assert len([t for t in trials if t.user_attrs.get("worker_died")]) == 1
