"""Alembic's environment for the tool's tables: configured by
``benchmark.migrate`` (no alembic.ini), always online, on the connection it
passes in ``config.attributes["connection"]``."""

from __future__ import annotations

from alembic import context

from benchmark.store import Base

# Optuna keeps its own revision in ``alembic_version`` in the same database.
VERSION_TABLE = "bench_alembic_version"


def include_name(name: str | None, type_: str, parent_names: object) -> bool:
    """Only the tool's own tables: Optuna's live in the same database."""
    if type_ == "table":
        return name is not None and name.startswith("bench_") and name != VERSION_TABLE
    return True


def run_migrations_online() -> None:
    connection = context.config.attributes.get("connection")
    if connection is None:
        raise RuntimeError("benchmark's migrations run through benchmark.migrate, which passes "
                           "the connection in config.attributes['connection']")
    context.configure(connection=connection, target_metadata=Base.metadata,
                      version_table=VERSION_TABLE, include_name=include_name,
                      render_as_batch=True, compare_type=True)
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    raise RuntimeError("benchmark's migrations run online only (python -m benchmark db upgrade)")
run_migrations_online()
