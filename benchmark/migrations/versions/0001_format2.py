"""Format 2: the tables of benchmark up to commit 7575a03 (runs, data sets,
studies, evaluations, nightly locks), as ``create_all`` made them.

Revision ID: 0001
Revises: (none)
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "bench_runs",
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("format_version", sa.Integer(), nullable=False),
        sa.Column("suite_name", sa.String(200), nullable=False),
        sa.Column("suite_yaml", sa.Text(), nullable=False),
        sa.Column("suite", sa.JSON(), nullable=False),
        sa.Column("suite_hash", sa.String(64), nullable=False),
        sa.Column("seed", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("command", sa.Text(), nullable=False),
        sa.Column("environment", sa.JSON(), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_bench_runs_suite_name", "bench_runs", ["suite_name"])

    op.create_table(
        "bench_datasets",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("run_id", sa.String(64), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("source", sa.String(200), nullable=False),
        sa.Column("summary", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(["run_id"], ["bench_runs.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_bench_datasets_run_id", "bench_datasets", ["run_id"])

    op.create_table(
        "bench_studies",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("run_id", sa.String(64), nullable=False),
        sa.Column("dataset", sa.String(200), nullable=False),
        sa.Column("model", sa.String(200), nullable=False),
        sa.Column("model_name", sa.String(200), nullable=False),
        sa.Column("optuna_study", sa.String(500), nullable=False),
        sa.Column("metric", sa.String(100), nullable=False),
        sa.Column("direction", sa.String(10), nullable=False),
        sa.Column("space", sa.JSON(), nullable=False),
        sa.Column("search_seconds", sa.Double(), nullable=True),
        sa.Column("best_trial", sa.Integer(), nullable=True),
        sa.Column("best_params", sa.JSON(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(["run_id"], ["bench_runs.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_bench_studies_run_id", "bench_studies", ["run_id"])

    op.create_table(
        "bench_evaluations",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("study_id", sa.Integer(), nullable=False),
        sa.Column("repeat", sa.Integer(), nullable=False),
        sa.Column("seed", sa.Integer(), nullable=False),
        sa.Column("metrics", sa.JSON(), nullable=False),
        sa.Column("confusion", sa.JSON(), nullable=False),
        sa.Column("history", sa.JSON(), nullable=False),
        sa.Column("n_params", sa.Integer(), nullable=True),
        sa.Column("fit_seconds", sa.Double(), nullable=False),
        sa.Column("threshold", sa.Double(), nullable=True),
        sa.Column("predictions", sa.JSON(), nullable=True),
        sa.Column("architecture", sa.JSON(), nullable=True),
        sa.ForeignKeyConstraint(["study_id"], ["bench_studies.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_bench_evaluations_study_id", "bench_evaluations", ["study_id"])

    op.create_table(
        "bench_locks",
        sa.Column("suite_name", sa.String(200), nullable=False),
        sa.Column("hostname", sa.String(200), nullable=False),
        sa.Column("pid", sa.Integer(), nullable=False),
        sa.Column("acquired_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("suite_name"),
    )


def downgrade() -> None:
    op.drop_table("bench_locks")
    op.drop_index("ix_bench_evaluations_study_id", table_name="bench_evaluations")
    op.drop_table("bench_evaluations")
    op.drop_index("ix_bench_studies_run_id", table_name="bench_studies")
    op.drop_table("bench_studies")
    op.drop_index("ix_bench_datasets_run_id", table_name="bench_datasets")
    op.drop_table("bench_datasets")
    op.drop_index("ix_bench_runs_suite_name", table_name="bench_runs")
    op.drop_table("bench_runs")
