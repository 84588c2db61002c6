"""assignment drafts: an annotator's unsubmitted scores on a live lease, kept server-side

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-28 09:00:00

A nullable JSON `draft` on `assignments` (feedback_db/drafts.py): the scores an annotator has set
on the item they hold, so a reload or a browser crash brings them back. One per assignment row,
so one per (annotator, request); it goes when the item is submitted, skipped or taken over.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0006"
down_revision: str | Sequence[str] | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Upgrade schema."""
    with op.batch_alter_table("assignments", schema=None) as batch_op:
        batch_op.add_column(sa.Column("draft", sa.JSON(), nullable=True))


def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table("assignments", schema=None) as batch_op:
        batch_op.drop_column("draft")
