"""A study's learning curve (``evaluation.learning_curve``): the test score of
its selected configuration refitted on growing fractions of the training
split, ``bench_studies.learning_curve``, a nullable JSON column, so every
stored run is kept as it is (its report draws no learning curve).

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("bench_studies") as batch:
        batch.add_column(sa.Column("learning_curve", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("bench_studies") as batch:
        batch.drop_column("learning_curve")
