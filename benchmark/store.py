"""The tool's own records, in the same database as Optuna's studies.

One SQLAlchemy URL holds everything a report or a comparison needs: the suite
as run, the environment, per-dataset summaries, per-(dataset, model) studies
and the final evaluations; trials, their curves and errors live in Optuna's
tables (user attributes), reached through ``optuna_study``.
"""

from __future__ import annotations

import datetime as dt
import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import JSON, DateTime, ForeignKey, Integer, String, Text, create_engine, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import (DeclarativeBase, Mapped, Session, defer, mapped_column, relationship,
                            selectinload)

from benchmark.errors import UserError

# Bumped when the records change shape; a reader refuses records it cannot read.
# Format 3 (migration 0002): budget slots, workers, evaluation leases, cancel.
FORMAT_VERSION = 4
DEFAULT_STORAGE = "sqlite:///reports/benchmark.db"


def now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class Base(DeclarativeBase):
    type_annotation_map = {dict[str, Any]: JSON, list[Any]: JSON}


class RunRecord(Base):
    __tablename__ = "bench_runs"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    format_version: Mapped[int] = mapped_column(Integer, default=FORMAT_VERSION)
    suite_name: Mapped[str] = mapped_column(String(200), index=True)
    suite_yaml: Mapped[str] = mapped_column(Text)
    suite: Mapped[dict[str, Any]]
    suite_hash: Mapped[str] = mapped_column(String(64))
    seed: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(20))  # running, finished, failed, interrupted
    error: Mapped[str | None] = mapped_column(Text, default=None)
    command: Mapped[str] = mapped_column(Text, default="")
    environment: Mapped[dict[str, Any]]
    started_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True), default=None)
    # Set by ``cancel``: every worker finishes (or fails) its trial and stops.
    cancel_requested_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True),
                                                                     default=None)
    # Seconds per phase of the main process (benchmark.phases: its start, data
    # loading, the report); each worker's are on its WorkerRecord. None before 0005.
    phases: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)

    datasets: Mapped[list[DatasetRecord]] = relationship(back_populates="run", order_by="DatasetRecord.id")
    studies: Mapped[list[StudyRecord]] = relationship(back_populates="run", order_by="StudyRecord.id")


class DatasetRecord(Base):
    __tablename__ = "bench_datasets"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    run_id: Mapped[str] = mapped_column(ForeignKey("bench_runs.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    source: Mapped[str] = mapped_column(String(200))
    summary: Mapped[dict[str, Any]]

    run: Mapped[RunRecord] = relationship(back_populates="datasets")


class StudyRecord(Base):
    __tablename__ = "bench_studies"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    run_id: Mapped[str] = mapped_column(ForeignKey("bench_runs.id"), index=True)
    dataset: Mapped[str] = mapped_column(String(200))
    model: Mapped[str] = mapped_column(String(200))  # the suite's label
    model_name: Mapped[str] = mapped_column(String(200))  # the registry name
    optuna_study: Mapped[str] = mapped_column(String(500))
    metric: Mapped[str] = mapped_column(String(100))
    direction: Mapped[str] = mapped_column(String(10))
    # The search space as data (format 4): {"distributions": {name: Optuna's
    # distribution JSON}, "fixed": {name: value}}; space.Space.from_data reads it.
    space: Mapped[dict[str, Any]]
    search_seconds: Mapped[float | None] = mapped_column(default=None)
    best_trial: Mapped[int | None] = mapped_column(Integer, default=None)
    best_params: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)
    # Why the study has no evaluation (no trial completed, or the refit failed).
    error: Mapped[str | None] = mapped_column(Text, default=None)
    # When its first trial was claimed: study.timeout is wall-clock time from here.
    started_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True), default=None)
    # Why the search stopped before its budget (study.max_consecutive_failures).
    stopped: Mapped[str | None] = mapped_column(Text, default=None)
    # The final evaluation runs once: the worker that holds this lease does it;
    # a claimant that dies loses the lease when it runs out.
    final_owner: Mapped[str | None] = mapped_column(String(200), default=None)
    final_lease_until: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True),
                                                                  default=None)
    # The model as the report needs it without importing it (user code by import
    # path): family, description, reference, each knob's type (as text) and
    # default (models.user.model_info). None for runs stored before revision 0003.
    model_info: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)
    # evaluation.learning_curve: [{"fraction", "samples", "scores": [test metric
    # per repeat]}], the last point the final refits'. None before revision 0006.
    learning_curve: Mapped[list[Any] | None] = mapped_column(JSON, default=None)
    # A model's ablation.factors: [{"factor", "levels": [{"level", "base", "scores":
    # [test metric per repeat], "fit_seconds", "error"?}]}] (None: not asked).
    ablation: Mapped[list[Any] | None] = mapped_column(JSON, default=None)

    run: Mapped[RunRecord] = relationship(back_populates="studies")
    evaluations: Mapped[list[EvaluationRecord]] = relationship(
        back_populates="study", order_by="EvaluationRecord.repeat")


class EvaluationRecord(Base):
    """One refit of a study's best configuration, scored once on the test split."""

    __tablename__ = "bench_evaluations"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    study_id: Mapped[int] = mapped_column(ForeignKey("bench_studies.id"), index=True)
    repeat: Mapped[int] = mapped_column(Integer)
    seed: Mapped[int] = mapped_column(Integer)
    metrics: Mapped[dict[str, Any]]
    confusion: Mapped[list[Any]]
    history: Mapped[list[Any]]
    n_params: Mapped[int | None] = mapped_column(Integer, default=None)
    fit_seconds: Mapped[float] = mapped_column()
    # The decision threshold tuned on the validation split (binary targets, when asked).
    threshold: Mapped[float | None] = mapped_column(default=None)
    # {"y_true": [...], "proba": [[...], ...]} on the test split.
    predictions: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)
    # Keras models: {"layers": [{name, type, output_shape, params}], "total", "trainable"}.
    architecture: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)
    # Where the refit ran: the machine's hostname and the device TensorFlow saw
    # ("CPU", "GPU: NVIDIA H200"); None in runs of format 2.
    host: Mapped[str | None] = mapped_column(String(200), default=None)
    device: Mapped[str | None] = mapped_column(String(200), default=None)
    # What the refitted model costs to run, measured where it was trained
    # (worker.measure_cost: latency at batch 1, throughput, size on disk,
    # parameters), and where the selected model was saved (the first refit's:
    # artifact store, artifact id, file name, classes, family). None before format 4.
    cost: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)
    saved: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)

    study: Mapped[StudyRecord] = relationship(back_populates="evaluations")


class SlotRecord(Base):
    """One of a study's ``n_trials`` budget slots, claimed by a worker before it
    asks for a trial: the primary key makes the budget exact across workers
    and machines (Optuna's MaxTrialsCallback overshoots, optuna#3518). A trial
    whose worker died gives its slot back; one that failed by its own error
    keeps it."""

    __tablename__ = "bench_slots"

    study_id: Mapped[int] = mapped_column(ForeignKey("bench_studies.id"), primary_key=True)
    slot: Mapped[int] = mapped_column(Integer, primary_key=True)
    worker: Mapped[str] = mapped_column(String(200))
    # Optuna's trial id, once asked (None between the claim and the ask).
    trial_id: Mapped[int | None] = mapped_column(Integer, default=None)
    claimed_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))


class WorkerRecord(Base):
    """A worker thread training a run's trials: who, where, on which device,
    alive until its heartbeat stops."""

    __tablename__ = "bench_workers"

    id: Mapped[str] = mapped_column(String(200), primary_key=True)
    run_id: Mapped[str] = mapped_column(ForeignKey("bench_runs.id"), index=True)
    hostname: Mapped[str] = mapped_column(String(200))
    pid: Mapped[int] = mapped_column(Integer)
    pid_created: Mapped[float | None] = mapped_column(default=None)
    # CUDA_VISIBLE_DEVICES given to its training process ("" = CPU only), threads.
    devices: Mapped[str] = mapped_column(String(200), default="")
    threads: Mapped[int | None] = mapped_column(Integer, default=None)
    # environment.machine() of its host (cpu, cores, memory, device): what makes
    # training times comparable between runs.
    machine: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    started_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    heartbeat_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True), default=None)
    trials: Mapped[int] = mapped_column(Integer, default=0)
    # Seconds per phase (benchmark.phases) of its trials and refits: the training
    # process's start and imports, building, training, evaluation, database calls.
    phases: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)


class LockRecord(Base):
    """One row per suite that a ``nightly`` is running now; the primary key makes
    taking the lock a single INSERT that only one process can win."""

    __tablename__ = "bench_locks"

    suite_name: Mapped[str] = mapped_column(String(200), primary_key=True)
    hostname: Mapped[str] = mapped_column(String(200))
    pid: Mapped[int] = mapped_column(Integer)
    acquired_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))


def _aware(value: dt.datetime) -> dt.datetime:
    """SQLite gives back naive datetimes; they are UTC."""
    return value if value.tzinfo is not None else value.replace(tzinfo=dt.UTC)


def process_alive(pid: int | None, *, created: float | None = None,
                  started_before: dt.datetime | None = None) -> bool:
    """Whether process ``pid`` on this machine still runs and is the process
    meant, not a newer one that reused the number: the one ``created`` at that
    time (psutil's create_time), or else one that existed by ``started_before``."""
    import psutil

    if not pid:
        return False
    try:
        process = psutil.Process(pid)
        if process.status() == psutil.STATUS_ZOMBIE:
            return False
        process_created = process.create_time()
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        return False
    if created is not None:
        return abs(process_created - created) < 1
    if started_before is not None:
        if started_before.tzinfo is None:  # SQLite gives back naive UTC times
            started_before = started_before.replace(tzinfo=dt.UTC)
        return process_created <= started_before.timestamp() + 1
    return True


# How long a SQLite connection waits for another process's write to finish
# before failing with "database is locked" (sqlite3's own default is 5 s). The
# run, its worker and readers (a nightly's poll, a report) share one file.
SQLITE_BUSY_SECONDS = 120


def engine_options(url: str) -> dict[str, Any]:
    """SQLAlchemy engine options for the tool's and Optuna's connections."""
    if _sqlite_file(url) is not None:  # an in-memory database lives only in its one connection
        from sqlalchemy.pool import NullPool

        # A connection per session, closed after it: a pooled sqlite3 connection
        # can keep a statement (and so a read transaction) open after it is given
        # back, which pins a stale snapshot in WAL mode and, in the rollback
        # journal, holds the lock every writer waits for. Measured cost: Optuna's
        # ask, report and tell of one trial take 41 ms instead of 27 ms.
        return {"connect_args": {"timeout": SQLITE_BUSY_SECONDS}, "poolclass": NullPool}
    if url.startswith("sqlite"):
        return {}
    # A server database: each process holds few connections (32 workers stay
    # under PostgreSQL's max_connections, optuna#1347), checked before use and
    # renewed hourly (a trial longer than the server's idle timeout, optuna#5600).
    return {"pool_size": 2, "max_overflow": 4, "pool_pre_ping": True, "pool_recycle": 3600}


_engine_options = engine_options


def optuna_storage(url: str) -> Any:
    """Optuna's storage on the tool's database, with the same SQLite settings as
    the Store (a study name plus this is what every process opens)."""
    import optuna

    return optuna.storages.RDBStorage(url, engine_kwargs=_engine_options(url))


# Query keys that carry a password for some drivers (psycopg's ?password=...).
_SECRET_QUERY_KEYS = {"password", "passwd", "pwd", "sslpassword"}


def masked(url: str) -> str:
    """The storage URL as it may be printed, stored or put in a report: the
    password replaced by ``***`` (SQLAlchemy's own rendering)."""
    from sqlalchemy.engine import make_url

    try:
        parsed = make_url(url)
    except Exception:  # noqa: BLE001 - not a URL SQLAlchemy can parse (a bad port, say)
        from urllib.parse import urlsplit

        try:
            parts = urlsplit(url)
            password = parts.password
        except ValueError:
            return url
        if not password:
            return url
        netloc = parts.netloc.replace(f":{password}@", ":***@", 1)
        return parts._replace(netloc=netloc).geturl()
    secrets = {key: "***" for key in parsed.query if key.lower() in _SECRET_QUERY_KEYS}
    if secrets:
        parsed = parsed.update_query_dict(secrets)
    return parsed.render_as_string(hide_password=True)


def scrub(text: str, url: str) -> str:
    """``text`` (an error message) with the URL, and its password, masked."""
    from sqlalchemy.engine import make_url

    text = text.replace(url, masked(url))
    try:
        password = make_url(url).password
    except Exception:  # noqa: BLE001 - masked() has dealt with what it could
        password = None
    if password and len(password) >= 4:  # a one-letter password would mangle every word
        text = text.replace(str(password), "***")
    return text


def mask_command(command: str) -> str:
    """A command line with every URL in it masked (``--storage URL`` and
    ``--storage=URL``); returned as it was when there is nothing to mask."""
    import shlex

    try:
        tokens = shlex.split(command)
    except ValueError:  # unbalanced quotes: mask word by word
        return " ".join(masked(word) if "://" in word else word for word in command.split(" "))
    changed = []
    for token in tokens:
        if "://" in token:
            head, sep, tail = token.partition("=") if token.startswith("-") else ("", "", token)
            token = head + sep + masked(tail)
        changed.append(token)
    return command if changed == tokens else shlex.join(changed)


def _sqlite_file(url: str) -> Path | None:
    prefix = "sqlite:///"
    if url.startswith(prefix) and url[len(prefix):] not in {"", ":memory:"}:
        return Path(url[len(prefix):])
    return None


class Store:
    """Opens (and creates, on first write) the tool's tables at a SQLAlchemy URL."""

    def __init__(self, url: str = DEFAULT_STORAGE, *, create: bool = True) -> None:
        self.url = url
        # What messages show: the URL with its password masked.
        self.shown = shown = masked(url)
        path = _sqlite_file(url)
        if path is not None and not path.exists():
            if not create:
                raise UserError(f"--storage {shown}: no database there (run a suite first)")
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
            except OSError as error:
                raise UserError(f"--storage {shown}: cannot create the folder {path.parent} "
                                f"({error.strerror or error}); give a writable path") from None
        try:
            self.engine = create_engine(url, **_engine_options(url))
        except Exception as error:  # noqa: BLE001 - SQLAlchemy raises several kinds for a bad URL
            reason = scrub(str(error).strip().splitlines()[0] if str(error).strip() else
                           type(error).__name__, url)
            raise UserError(f"--storage {shown!r}: not a usable SQLAlchemy URL ({reason}); e.g. "
                            f"sqlite:///reports/benchmark.db, postgresql://user@host/db") from None
        from benchmark import migrate

        try:
            if self.engine.name == "sqlite":
                # SQLite's write-ahead log: readers never block the writer nor the
                # writer the readers, where the rollback journal makes a writer wait
                # for every reader and can fail it outright when two writers meet
                # (SQLITE_BUSY without waiting, to avoid a deadlock). The mode is
                # stored in the file: set once here, Optuna's connections get it too.
                with self.engine.connect() as connection:
                    connection.exec_driver_sql("PRAGMA journal_mode=WAL")
            # Creates the tables in a new database; refuses one of another format
            # (benchmark/migrations: python -m benchmark db upgrade).
            migrate.ensure(self.engine, shown)
        except SQLAlchemyError as error:  # down, wrong password, not a database
            orig = getattr(error, "orig", None)
            reason = (str(orig) if orig is not None else str(error)).strip()
            reason = scrub(reason.splitlines()[0] if reason else type(error).__name__, url)
            self.engine.dispose()
            raise UserError(f"--storage {shown}: cannot open the database ({reason})") from None
        except UserError:
            self.engine.dispose()
            raise
        # Whoever opens the database next after a kill or a reboot marks the run.
        self.mark_interrupted()

    @contextmanager
    def session(self) -> Iterator[Session]:
        with Session(self.engine, expire_on_commit=False) as session, session.begin():
            yield session

    @staticmethod
    def new_run_id() -> str:
        return now().strftime("%Y%m%d-%H%M%S-") + uuid.uuid4().hex[:6]

    def resolve(self, run_id: str, suite_name: str | None = None) -> RunRecord:
        """A run by id, or ``latest`` (optionally of one suite)."""
        with self.session() as session:
            if run_id == "latest":
                query = select(RunRecord).order_by(RunRecord.started_at.desc())
                if suite_name:
                    query = query.where(RunRecord.suite_name == suite_name)
                run = session.scalars(query.options(*_EVERYTHING).limit(1)).first()
            else:
                run = session.get(RunRecord, run_id, options=_EVERYTHING)
            if run is None and run_id == "latest" and suite_name:
                suites = session.scalars(select(RunRecord.suite_name).distinct()
                                         .order_by(RunRecord.suite_name)).all()
                listed = ", ".join(suites[:10]) + (f" (and {len(suites) - 10} more)"
                                                   if len(suites) > 10 else "")
                raise UserError(f"no run of suite {suite_name!r} in {self.shown}; "
                                + (f"suites with runs: {listed}" if suites
                                   else "the database has no runs"))
            if run is None:
                known = session.scalars(select(RunRecord.id).order_by(
                    RunRecord.started_at.desc()).limit(5)).all()
                hint = f"; latest runs: {', '.join(known)}" if known else "; the database has no runs"
                raise UserError(f"run {run_id!r} not found in {self.shown}{hint}")
            if run.format_version > FORMAT_VERSION:
                raise UserError(f"run {run.id} was written by a newer benchmark (format "
                                f"{run.format_version} > {FORMAT_VERSION}): upgrade to read it")
            return run

    def runs(self, suite_name: str) -> list[RunRecord]:
        """Every run of a suite, oldest first, with what a comparison reads loaded
        (not the test predictions and layer tables: a year of nights holds many)."""
        with self.session() as session:
            return list(session.scalars(
                select(RunRecord).where(RunRecord.suite_name == suite_name)
                .order_by(RunRecord.started_at)
                .options(selectinload(RunRecord.datasets),
                         selectinload(RunRecord.studies).selectinload(StudyRecord.evaluations)
                         .options(defer(EvaluationRecord.predictions),
                                  defer(EvaluationRecord.architecture)))))

    def suite_of(self, run_id: str) -> str | None:
        """The suite name of a run, or None when there is no such run."""
        with self.session() as session:
            return session.scalar(select(RunRecord.suite_name).where(RunRecord.id == run_id))

    def mark_interrupted(self) -> list[str]:
        """Runs left 'running' by a process of this machine that no longer exists
        (killed, or the machine rebooted) become 'interrupted'; returns their ids.
        Runs of other machines are left alone: their processes cannot be seen."""
        import platform

        marked = []
        with self.session() as session:
            for run in session.scalars(select(RunRecord).where(RunRecord.status == "running")):
                environment = run.environment or {}
                if environment.get("hostname") != platform.node() or environment.get("detached"):
                    continue  # another machine's process; or nobody's (workers train it)
                # Runs written before pid_created was recorded: judged by start time.
                if not process_alive(environment.get("pid"), created=environment.get("pid_created"),
                                     started_before=run.started_at):
                    run.status = "interrupted"
                    run.error = (f"the process (pid {environment.get('pid')}) ended before the "
                                 f"run finished; resume it with: python -m benchmark run "
                                 f"--resume {run.id}")
                    marked.append(run.id)
        return marked

    # -- the repository of a distributed run: what workers claim and ask, each
    # one statement (or one short transaction) over the shared database.

    def claim_slot(self, study_id: int, n_trials: int | None, timeout: float | None,
                   worker: str) -> int | None:
        """A free budget slot of the study for ``worker``, or None when its budget
        is spent (every slot taken, its time up, or it was stopped). The slot's
        primary key makes the claim exact across processes and machines."""
        from sqlalchemy import and_, update
        from sqlalchemy.exc import IntegrityError

        with self.session() as session:
            record = session.get(StudyRecord, study_id)
            if record.stopped or record.search_seconds is not None:
                return None
            if timeout is not None and record.started_at is not None and (
                    now() - _aware(record.started_at)).total_seconds() >= timeout:
                return None
            taken = set(session.scalars(select(SlotRecord.slot).where(
                SlotRecord.study_id == study_id)))
        limit = n_trials if n_trials is not None else len(taken) + 1_000_000
        for slot in range(limit):
            if slot in taken:
                continue
            try:
                with self.session() as session:
                    session.add(SlotRecord(study_id=study_id, slot=slot, worker=worker,
                                           claimed_at=now()))
            except IntegrityError:
                continue  # another worker took it in between
            with self.session() as session:  # the study's clock starts with its first claim
                session.execute(update(StudyRecord).where(and_(
                    StudyRecord.id == study_id, StudyRecord.started_at.is_(None)))
                    .values(started_at=now()))
            return slot
        return None

    def claim_evaluation(self, study_id: int, worker: str, lease: float) -> bool:
        """Takes the study's final evaluation: True for exactly one claimant while
        its lease runs (its heartbeat renews it; a dead claimant's runs out)."""
        from sqlalchemy import and_, or_, update

        moment = now()
        with self.session() as session:
            result = session.execute(update(StudyRecord).where(and_(
                StudyRecord.id == study_id, StudyRecord.search_seconds.is_(None),
                or_(StudyRecord.final_owner.is_(None), StudyRecord.final_lease_until < moment)))
                .values(final_owner=worker,
                        final_lease_until=moment + dt.timedelta(seconds=lease)))
            return result.rowcount == 1

    def study_finished(self, study_id: int) -> bool:
        """Searched and evaluated (or given up on, with its reason recorded)."""
        with self.session() as session:
            return session.scalar(select(StudyRecord.search_seconds).where(
                StudyRecord.id == study_id)) is not None

    def request_cancel(self, run_id: str) -> None:
        from sqlalchemy import update

        with self.session() as session:
            session.execute(update(RunRecord).where(RunRecord.id == run_id)
                            .values(cancel_requested_at=now()))

    def cancel_requested(self, run_id: str) -> bool:
        with self.session() as session:
            return session.scalar(select(RunRecord.cancel_requested_at).where(
                RunRecord.id == run_id)) is not None

    @contextmanager
    def lock(self, suite_name: str) -> Iterator[None]:
        """Holds the suite's lock for the block, or raises UserError naming who
        holds it. A lock left by a dead process of this machine is taken over."""
        import platform

        from sqlalchemy.exc import IntegrityError

        for _ in range(2):
            try:
                with self.session() as session:
                    session.add(LockRecord(suite_name=suite_name, hostname=platform.node(),
                                           pid=os.getpid(), acquired_at=now()))
                break
            except IntegrityError:
                with self.session() as session:
                    held = session.get(LockRecord, suite_name)
                    if held is None:
                        continue  # released in between: try again
                    if held.hostname == platform.node() and not process_alive(
                            held.pid, started_before=held.acquired_at):
                        session.delete(held)
                        continue
                    raise UserError(
                        f"suite {suite_name!r} is already being run by another nightly (pid "
                        f"{held.pid} on {held.hostname}, since {held.acquired_at:%Y-%m-%d %H:%M} "
                        f"UTC); wait for it to finish") from None
        else:
            raise UserError(f"could not take the lock of suite {suite_name!r}; try again")
        try:
            yield
        finally:
            with self.session() as session:
                held = session.get(LockRecord, suite_name)
                if held is not None and held.pid == os.getpid() and held.hostname == platform.node():
                    session.delete(held)


# Everything a report needs, loaded with the run while the session is open.
_EVERYTHING = (selectinload(RunRecord.datasets),
               selectinload(RunRecord.studies).selectinload(StudyRecord.evaluations))
