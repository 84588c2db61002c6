"""rating reasons and browser history: ratings.reason, an index on requests (session_id, created_at)

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-27 09:00:00

Ratings get a nullable `reason` (chips and details, see feedback_db/reasons.py), the
counterpart of `flags.reason` for a thumbs-down. Requests are indexed by browser session and time:
the history panel and the restore after each page load look them up by it.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0005"
down_revision: str | Sequence[str] | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Upgrade schema."""
    with op.batch_alter_table("ratings", schema=None) as batch_op:
        batch_op.add_column(sa.Column("reason", sa.String(length=500), nullable=True))
    with op.batch_alter_table("requests", schema=None) as batch_op:
        batch_op.create_index("ix_requests_session_created", ["session_id", "created_at"], unique=False)


def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table("requests", schema=None) as batch_op:
        batch_op.drop_index("ix_requests_session_created")
    with op.batch_alter_table("ratings", schema=None) as batch_op:
        batch_op.drop_column("reason")
