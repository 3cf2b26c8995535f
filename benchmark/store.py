"""The tool's own records, in the same database as Optuna's studies.

One SQLAlchemy URL holds everything a report or a comparison needs: the suite
as run, the environment, per-dataset summaries, per-(dataset, model) studies
and the final evaluations; trials, their curves and errors live in Optuna's
tables (user attributes), reached through ``optuna_study``.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import JSON, DateTime, ForeignKey, Integer, String, Text, create_engine, select
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, relationship

from benchmark.errors import UserError

# Bumped when the records change shape; a reader refuses records it cannot read.
FORMAT_VERSION = 2
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
    space: Mapped[dict[str, Any]]
    search_seconds: Mapped[float | None] = mapped_column(default=None)
    best_trial: Mapped[int | None] = mapped_column(Integer, default=None)
    best_params: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)
    # Why the study has no evaluation (no trial completed, or the refit failed).
    error: Mapped[str | None] = mapped_column(Text, default=None)

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

    study: Mapped[StudyRecord] = relationship(back_populates="evaluations")


def _sqlite_file(url: str) -> Path | None:
    prefix = "sqlite:///"
    if url.startswith(prefix) and url[len(prefix):] not in {"", ":memory:"}:
        return Path(url[len(prefix):])
    return None


class Store:
    """Opens (and creates, on first write) the tool's tables at a SQLAlchemy URL."""

    def __init__(self, url: str = DEFAULT_STORAGE, *, create: bool = True) -> None:
        self.url = url
        path = _sqlite_file(url)
        if path is not None and not path.exists():
            if not create:
                raise UserError(f"--storage {url}: no database there (run a suite first)")
            path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self.engine = create_engine(url)
        except Exception as error:  # noqa: BLE001 - SQLAlchemy raises several kinds for a bad URL
            raise UserError(f"--storage {url!r}: not a usable SQLAlchemy URL ({error})") from None
        Base.metadata.create_all(self.engine)
        self._check_schema()

    def _check_schema(self) -> None:
        """Tables made by an older format lack columns: say so instead of failing
        later with an SQL error in the middle of a run."""
        from sqlalchemy import inspect

        inspector = inspect(self.engine)
        for table in Base.metadata.sorted_tables:
            present = {column["name"] for column in inspector.get_columns(table.name)}
            missing = sorted(set(table.columns.keys()) - present)
            if missing:
                raise UserError(
                    f"--storage {self.url}: table {table.name} was written by an older benchmark "
                    f"(no column {', '.join(missing)}); use a new database with --storage, or "
                    f"move the old one aside")

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
                run = session.scalars(query.limit(1)).first()
            else:
                run = session.get(RunRecord, run_id)
            if run is None:
                known = session.scalars(select(RunRecord.id).order_by(
                    RunRecord.started_at.desc()).limit(5)).all()
                hint = f"; latest runs: {', '.join(known)}" if known else "; the database has no runs"
                raise UserError(f"run {run_id!r} not found in {self.url}{hint}")
            if run.format_version > FORMAT_VERSION:
                raise UserError(f"run {run.id} was written by a newer benchmark (format "
                                f"{run.format_version} > {FORMAT_VERSION}): upgrade to read it")
            # Load everything a report needs while the session is open.
            for study in run.studies:
                study.evaluations  # noqa: B018
            run.datasets  # noqa: B018
            return run
