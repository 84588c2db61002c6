"""token confidence: outputs.token_confidence, confidence_mean and confidence_min

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-08 10:00:00

A text output's token confidence (each token's probability and its top alternatives, compact
JSON text written by playground/services/confidence.py) and its mean and minimum probability,
for exports and Insights. All nullable: existing rows, images and backends that report no
confidence hold NULL, and every view shows them plainly. No data moves.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0011"
down_revision: str | Sequence[str] | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Upgrade schema."""
    with op.batch_alter_table("outputs", schema=None) as batch_op:
        batch_op.add_column(sa.Column("token_confidence", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("confidence_mean", sa.Double(), nullable=True))
        batch_op.add_column(sa.Column("confidence_min", sa.Double(), nullable=True))


def downgrade() -> None:
    """Downgrade schema (the confidence data goes: the old schema cannot hold it)."""
    with op.batch_alter_table("outputs", schema=None) as batch_op:
        batch_op.drop_column("confidence_min")
        batch_op.drop_column("confidence_mean")
        batch_op.drop_column("token_confidence")
