"""The format of the tool's own tables, versioned with Alembic migrations
(benchmark/migrations): a new database is created at the newest revision, an
older one is refused with the command that upgrades it, keeping every run:

    python -m benchmark db upgrade --storage URL
    python -m benchmark db current --storage URL

The revision lives in ``bench_alembic_version``: Optuna keeps its own in
``alembic_version`` in the same database. A database written by format 2
(benchmark up to commit 7575a03) has the tool's tables but no revision; the
upgrade stamps it 0001 (format 2) first.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from pathlib import Path
from typing import Any

from benchmark.errors import UserError

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
VERSION_TABLE = "bench_alembic_version"
# The format (store.FORMAT_VERSION) each revision brings the tables to.
FORMATS = {"0001": 2, "0002": 3, "0003": 3, "0004": 4, "0005": 4, "0006": 4, "0007": 4}
# Columns revisions 0002 and later add to tables of format 2: what a format-2
# database lacks, and so what it must have of everything else before it is
# stamped 0001. Every migration that adds a column adds it here too.
_ADDED_SINCE_FORMAT2 = {"bench_runs": {"cancel_requested_at", "phases"},
                  "bench_studies": {"started_at", "stopped", "final_owner", "final_lease_until",
                                    "model_info", "learning_curve", "ablation"},
                  "bench_evaluations": {"host", "device", "cost", "saved"}}
_FORMAT2_TABLES = ("bench_runs", "bench_datasets", "bench_studies", "bench_evaluations",
                   "bench_locks")
# How long a process whose creation of the tables of an empty database failed
# (another process created them at the same time) waits to see them made.
RACE_WAIT_SECONDS = 10


def _config(connection: Any = None) -> Any:
    from alembic.config import Config

    config = Config()
    # ConfigParser interpolation: a '%' in the path must be doubled.
    config.set_main_option("script_location", str(MIGRATIONS).replace("%", "%%"))
    config.attributes["connection"] = connection
    return config


@cache
def head() -> str:
    """The newest revision this code knows."""
    from alembic.script import ScriptDirectory

    heads = ScriptDirectory.from_config(_config()).get_heads()
    if len(heads) != 1:  # a packaging mistake, not the user's
        raise RuntimeError(f"benchmark's migrations have {len(heads)} heads: {heads}")
    return heads[0]


@cache
def known() -> frozenset[str]:
    from alembic.script import ScriptDirectory

    return frozenset(script.revision for script in ScriptDirectory.from_config(_config())
                     .walk_revisions())


def _describe(revision: str) -> str:
    format_ = FORMATS.get(revision)
    return f"revision {revision}" + (f" (format {format_})" if format_ else "")


def state(connection: Any) -> tuple[bool, str | None]:
    """(whether the tool's tables exist, the revision in bench_alembic_version
    or None when there is none)."""
    from alembic.runtime.migration import MigrationContext
    from sqlalchemy import inspect

    inspector = inspect(connection)
    has_runs = inspector.has_table("bench_runs")
    if not inspector.has_table(VERSION_TABLE):
        return has_runs, None
    context = MigrationContext.configure(connection, opts={"version_table": VERSION_TABLE})
    return has_runs, context.get_current_revision()


def _upgrade_command(shown: str) -> str:
    return f"python -m benchmark db upgrade --storage {shown}"


def _refuse(shown: str, has_runs: bool, revision: str | None) -> None:
    """Raises the UserError for a database this code cannot use as it is;
    returns when it is at head."""
    if revision == head():
        return
    if revision is None:
        if not has_runs:  # the caller creates the tables
            return
        raise UserError(f"--storage {shown}: the database was written by an older benchmark "
                        f"(format 2); upgrade it, keeping every run, with: "
                        f"{_upgrade_command(shown)}")
    if revision in known():
        raise UserError(f"--storage {shown}: the database was written by an older benchmark "
                        f"({_describe(revision)}); upgrade it, keeping every run, with: "
                        f"{_upgrade_command(shown)}")
    raise UserError(f"--storage {shown}: the database was written by a newer benchmark "
                    f"(revision {revision}); upgrade benchmark to read it")


@contextmanager
def _transaction(engine: Any) -> Iterator[Any]:
    """A connection in one transaction for the whole migration. PostgreSQL's DDL
    is transactional as it is; Python's sqlite3 commits each CREATE and ALTER
    on its own, so another process could see half-made tables: on SQLite the
    migration runs in an explicit BEGIN IMMEDIATE, which also makes a second
    process creating the same new file wait for the first, then find it done."""
    with engine.connect() as connection:
        if engine.dialect.name != "sqlite":
            with connection.begin():
                yield connection
            return
        raw = connection.connection.driver_connection
        previous = raw.isolation_level
        raw.isolation_level = None  # no implicit BEGIN/COMMIT by the sqlite3 module
        try:
            connection.exec_driver_sql("BEGIN IMMEDIATE")
            try:
                yield connection
            except BaseException:
                connection.rollback()
                raise
            connection.commit()
        finally:
            raw.isolation_level = previous


def _upgrade(connection: Any, target: str = "head") -> None:
    from alembic import command

    command.upgrade(_config(connection), target)


def ensure(engine: Any, shown: str) -> None:
    """Makes the tool's tables usable by this code: creates them in a new
    database, at the newest revision; raises UserError (one line naming the
    command that upgrades it) for a database of an older format, and for one
    of a newer benchmark. ``shown`` is the URL as messages print it."""
    from sqlalchemy.exc import SQLAlchemyError

    with engine.connect() as connection:
        has_runs, revision = state(connection)
    _refuse(shown, has_runs, revision)
    if revision == head():
        return
    # A new database (no bench_runs, no revision): create everything.
    try:
        with _transaction(engine) as connection:
            _upgrade(connection)
    except SQLAlchemyError:
        # Another process may have created the tables at the same time (an
        # empty PostgreSQL database shared by workers): the loser's CREATE fails
        # (duplicate table or type). Harmless once the winner is done.
        deadline = time.monotonic() + RACE_WAIT_SECONDS
        while True:
            with engine.connect() as connection:
                has_runs, revision = state(connection)
            if revision is not None:
                _refuse(shown, has_runs, revision)
                return
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def _engine(url: str, shown: str) -> Any:
    from sqlalchemy import create_engine

    from benchmark import store

    options = getattr(store, "engine_options", None) or store._engine_options
    try:
        return create_engine(url, **options(url))
    except Exception as error:  # noqa: BLE001 - SQLAlchemy raises several kinds for a bad URL
        reason = store.scrub(str(error).strip().splitlines()[0] if str(error).strip() else
                             type(error).__name__, url)
        raise UserError(f"--storage {shown!r}: not a usable SQLAlchemy URL ({reason}); e.g. "
                        f"sqlite:///reports/benchmark.db, postgresql://user@host/db") from None


def _format2_gaps(connection: Any) -> list[str]:
    """What a database without a revision lacks of format 2's tables (bench_locks
    is made here when missing: the earliest format-2 databases predate it)."""
    from sqlalchemy import inspect

    from benchmark.store import Base

    inspector = inspect(connection)
    gaps = []
    for name in _FORMAT2_TABLES:
        if name == "bench_locks":
            continue
        if not inspector.has_table(name):
            gaps.append(f"table {name}")
            continue
        present = {column["name"] for column in inspector.get_columns(name)}
        wanted = (set(Base.metadata.tables[name].columns.keys())
                  - _ADDED_SINCE_FORMAT2.get(name, set()))
        gaps.extend(f"column {name}.{column}" for column in sorted(wanted - present))
    return gaps


def upgrade(url: str) -> str:
    """Migrates the tool's tables at ``url`` to the newest revision; returns the
    line that says what was done."""
    from sqlalchemy import func, inspect, select
    from sqlalchemy.exc import SQLAlchemyError

    from benchmark.store import Base, masked

    shown = masked(url)
    engine = _engine(url, shown)
    try:
        with engine.connect() as connection:
            has_runs, revision = state(connection)
        target = head()
        if revision == target:
            return f"database {shown}: already at {_describe(target)}; nothing to do"
        if revision is not None and revision not in known():
            _refuse(shown, has_runs, revision)
        with _transaction(engine) as connection:
            if revision is None and not has_runs:
                _upgrade(connection)
                return f"database {shown}: no benchmark tables there; created them at " \
                       f"{_describe(target)}"
            if revision is None:
                gaps = _format2_gaps(connection)
                if gaps:
                    raise UserError(
                        f"--storage {shown}: the tables predate format 2 (no {', '.join(gaps)}); "
                        f"this benchmark cannot upgrade them: use a new database with --storage")
                if not inspect(connection).has_table("bench_locks"):
                    Base.metadata.tables["bench_locks"].create(connection)
                from alembic import command

                command.stamp(_config(connection), "0001")
                revision = "0001"
            _upgrade(connection)
            runs = connection.scalar(select(func.count()).select_from(
                Base.metadata.tables["bench_runs"]))
        return (f"database {shown}: upgraded from {_describe(revision)} to "
                f"{_describe(target).removeprefix('revision ')}; "
                f"{runs} run{'' if runs == 1 else 's'} kept")
    except SQLAlchemyError as error:
        raise _cannot_open(error, url, shown) from None
    finally:
        engine.dispose()


def current(url: str) -> str:
    """The line ``db current`` prints: the revision of the tool's tables."""
    from sqlalchemy.exc import SQLAlchemyError

    from benchmark.store import masked

    shown = masked(url)
    engine = _engine(url, shown)
    try:
        with engine.connect() as connection:
            has_runs, revision = state(connection)
    except SQLAlchemyError as error:
        raise _cannot_open(error, url, shown) from None
    finally:
        engine.dispose()
    if revision is None and not has_runs:
        return f"database {shown}: no benchmark tables yet (the first run creates them at " \
               f"{_describe(head())})"
    if revision is None:
        return f"database {shown}: format 2, without a revision; upgrade it with: " \
               f"{_upgrade_command(shown)}"
    if revision == head():
        return f"database {shown}: {_describe(revision)}, current"
    if revision in known():
        return f"database {shown}: {_describe(revision)}; upgrade it to {_describe(head())} " \
               f"with: {_upgrade_command(shown)}"
    return f"database {shown}: revision {revision}, written by a newer benchmark; upgrade " \
           f"benchmark to read it"


def _cannot_open(error: Exception, url: str, shown: str) -> UserError:
    from benchmark.store import scrub

    orig = getattr(error, "orig", None)
    reason = (str(orig) if orig is not None else str(error)).strip()
    reason = scrub(reason.splitlines()[0] if reason else type(error).__name__, url)
    return UserError(f"--storage {shown}: cannot open the database ({reason})")


def command(args: argparse.Namespace) -> int:
    """``python -m benchmark db upgrade|current --storage URL``."""
    from benchmark.store import _sqlite_file, masked

    url = args.storage
    path = _sqlite_file(url)
    if path is not None and not path.exists():
        raise UserError(f"--storage {masked(url)}: no database there (nothing to "
                        f"{'upgrade' if args.action == 'upgrade' else 'show'})")
    print(upgrade(url) if args.action == "upgrade" else current(url))
    return 0
