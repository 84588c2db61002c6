"""output replacements: outputs.replaces_output_id, for regenerating one card of a request

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01 09:00:00

A nullable, unique `replaces_output_id` on `outputs` (feedback_db/replacements.py): the output a
regenerated card's new output took the place of. The old row stays, with its ratings; unique, so
an output is replaced at most once. Existing rows are all current (NULL), so no data moves.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0007"
down_revision: str | Sequence[str] | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Upgrade schema."""
    with op.batch_alter_table("outputs", schema=None) as batch_op:
        batch_op.add_column(sa.Column("replaces_output_id", sa.Integer(), nullable=True))
        batch_op.create_unique_constraint("uq_outputs_replaces_output_id", ["replaces_output_id"])
        batch_op.create_foreign_key("fk_outputs_replaces_output_id_outputs", "outputs", ["replaces_output_id"], ["id"], ondelete="SET NULL")


def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table("outputs", schema=None) as batch_op:
        batch_op.drop_constraint("fk_outputs_replaces_output_id_outputs", type_="foreignkey")
        batch_op.drop_constraint("uq_outputs_replaces_output_id", type_="unique")
        batch_op.drop_column("replaces_output_id")
