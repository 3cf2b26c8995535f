"""A study's ablation (a model's ``ablation.factors``): the test score of each
level of each factor, refitted with the final refits' seeds,
``bench_studies.ablation``, a nullable JSON column, so every stored run is
kept as it is (its report has no ablation).

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("bench_studies") as batch:
        batch.add_column(sa.Column("ablation", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("bench_studies") as batch:
        batch.drop_column("ablation")
