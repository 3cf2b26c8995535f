"""A study's model as the report needs it without importing it (user code by
import path, ``model: python:MODULE:NAME``): ``bench_studies.model_info``, a
nullable JSON column, so every stored run is kept as it is.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("bench_studies") as batch:
        batch.add_column(sa.Column("model_info", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("bench_studies") as batch:
        batch.drop_column("model_info")
