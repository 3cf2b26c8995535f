"""Format 3: budget slots (bench_slots), workers (bench_workers), a run's
cancel request, a study's start, stop reason and final-evaluation lease, and
where each refit ran (host, device). Every new column is nullable, so the
runs of format 2 are kept as they are.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("bench_runs") as batch:
        batch.add_column(sa.Column("cancel_requested_at", sa.DateTime(timezone=True),
                                   nullable=True))

    with op.batch_alter_table("bench_studies") as batch:
        batch.add_column(sa.Column("started_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("stopped", sa.Text(), nullable=True))
        batch.add_column(sa.Column("final_owner", sa.String(200), nullable=True))
        batch.add_column(sa.Column("final_lease_until", sa.DateTime(timezone=True),
                                   nullable=True))

    with op.batch_alter_table("bench_evaluations") as batch:
        batch.add_column(sa.Column("host", sa.String(200), nullable=True))
        batch.add_column(sa.Column("device", sa.String(200), nullable=True))

    op.create_table(
        "bench_slots",
        sa.Column("study_id", sa.Integer(), nullable=False),
        sa.Column("slot", sa.Integer(), nullable=False),
        sa.Column("worker", sa.String(200), nullable=False),
        sa.Column("trial_id", sa.Integer(), nullable=True),
        sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["study_id"], ["bench_studies.id"]),
        sa.PrimaryKeyConstraint("study_id", "slot"),
    )

    op.create_table(
        "bench_workers",
        sa.Column("id", sa.String(200), nullable=False),
        sa.Column("run_id", sa.String(64), nullable=False),
        sa.Column("hostname", sa.String(200), nullable=False),
        sa.Column("pid", sa.Integer(), nullable=False),
        sa.Column("pid_created", sa.Double(), nullable=True),
        sa.Column("devices", sa.String(200), nullable=False),
        sa.Column("threads", sa.Integer(), nullable=True),
        sa.Column("machine", sa.JSON(), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("heartbeat_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("trials", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["run_id"], ["bench_runs.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_bench_workers_run_id", "bench_workers", ["run_id"])


def downgrade() -> None:
    op.drop_index("ix_bench_workers_run_id", table_name="bench_workers")
    op.drop_table("bench_workers")
    op.drop_table("bench_slots")
    with op.batch_alter_table("bench_evaluations") as batch:
        batch.drop_column("device")
        batch.drop_column("host")
    with op.batch_alter_table("bench_studies") as batch:
        batch.drop_column("final_lease_until")
        batch.drop_column("final_owner")
        batch.drop_column("stopped")
        batch.drop_column("started_at")
    with op.batch_alter_table("bench_runs") as batch:
        batch.drop_column("cancel_requested_at")
