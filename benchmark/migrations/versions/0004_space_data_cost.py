"""Format 4: a study's search space is stored as data (``bench_studies.space``:
Optuna's JSON of each searched distribution plus the fixed values, which
comparisons read) instead of the report's display text; each refit records
what its model costs to run (``bench_evaluations.cost``: latency, throughput,
size, parameters) and where the selected model was saved (``saved``).

The stored text of each study is replaced by the space recomputed from the
suite stored with its run (the same entry that produced the text); a study
whose entry cannot be found keeps its text under ``shown`` (the report still
lists it, comparisons see no searched parameter).

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import json
from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

_runs = sa.table("bench_runs", sa.column("id", sa.String), sa.column("suite", sa.JSON))
_studies = sa.table("bench_studies", sa.column("id", sa.Integer), sa.column("run_id", sa.String),
                    sa.column("model", sa.String), sa.column("space", sa.JSON))


def _label(entry: dict[str, Any]) -> str:
    # suite.ModelEntry.label as of this revision.
    model = str(entry.get("model"))
    if entry.get("name") is None and model.startswith("python:"):
        return model.rsplit(":", 1)[1]
    return entry.get("name") or model


def _as_data(suite: Any, label: str, text: Any) -> dict[str, Any]:
    from benchmark.space import Space

    if isinstance(suite, str):
        suite = json.loads(suite)
    for entry in (suite or {}).get("models", []):
        if _label(entry) == label:
            try:
                return Space.from_spec(entry.get("search") or {}).to_data()
            except (TypeError, ValueError):
                break
    return {"distributions": {}, "fixed": {}, "shown": text or {}}


def upgrade() -> None:
    connection = op.get_bind()
    suites = dict(connection.execute(sa.select(_runs.c.id, _runs.c.suite)).all())
    for id_, run_id, model, text in connection.execute(
            sa.select(_studies.c.id, _studies.c.run_id, _studies.c.model, _studies.c.space)).all():
        if isinstance(text, str):
            text = json.loads(text)
        connection.execute(_studies.update().where(_studies.c.id == id_)
                           .values(space=_as_data(suites.get(run_id), model, text)))

    with op.batch_alter_table("bench_evaluations") as batch:
        batch.add_column(sa.Column("cost", sa.JSON(), nullable=True))
        batch.add_column(sa.Column("saved", sa.JSON(), nullable=True))


def downgrade() -> None:
    from benchmark.space import Space

    with op.batch_alter_table("bench_evaluations") as batch:
        batch.drop_column("saved")
        batch.drop_column("cost")

    connection = op.get_bind()
    for id_, data in connection.execute(sa.select(_studies.c.id, _studies.c.space)).all():
        if isinstance(data, str):
            data = json.loads(data)
        data = data or {}
        text = data["shown"] if "shown" in data else Space.from_data(data).describe()
        connection.execute(_studies.update().where(_studies.c.id == id_).values(space=text))
