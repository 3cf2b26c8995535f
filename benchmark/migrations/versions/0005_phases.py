"""Where a run's time went (``benchmark.phases``): ``bench_runs.phases`` (the
main process: its start, data loading, the report) and ``bench_workers.phases``
(each worker: its training processes' start and imports, model building,
training, evaluation, database calls), nullable JSON columns, so every stored
run is kept as it is (its report lists no phases).

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    for table in ("bench_runs", "bench_workers"):
        with op.batch_alter_table(table) as batch:
            batch.add_column(sa.Column("phases", sa.JSON(), nullable=True))


def downgrade() -> None:
    for table in ("bench_runs", "bench_workers"):
        with op.batch_alter_table(table) as batch:
            batch.drop_column("phases")
