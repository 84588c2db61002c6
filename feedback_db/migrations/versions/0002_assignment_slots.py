"""assignment slots: one annotator per (request, slot), enforced by the database

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-24 09:00:00

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0002"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Upgrade schema."""
    with op.batch_alter_table("assignments", schema=None) as batch_op:
        batch_op.add_column(sa.Column("slot", sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f("ix_assignments_annotator_id"), ["annotator_id"], unique=False)
        batch_op.create_unique_constraint("uq_assignments_request_slot", ["request_id", "slot"])
        batch_op.create_check_constraint(batch_op.f("ck_assignments_slot"), "slot IS NULL OR slot >= 0")


def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table("assignments", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("ck_assignments_slot"), type_="check")
        batch_op.drop_constraint("uq_assignments_request_slot", type_="unique")
        batch_op.drop_index(batch_op.f("ix_assignments_annotator_id"))
        batch_op.drop_column("slot")
