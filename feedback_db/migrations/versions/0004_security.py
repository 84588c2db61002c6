"""security: moderated outputs; log-in sessions keyed by token hashes only

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-26 09:00:00

Outputs get `moderation` (why the content filter withheld one). Session ids are now keyed
hashes of the browser's token, never the token itself: log-in sessions stored before this
revision held raw tokens, so they are revoked here (annotators log in again).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0004"
down_revision: str | Sequence[str] | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Upgrade schema."""
    with op.batch_alter_table("outputs", schema=None) as batch_op:
        batch_op.add_column(sa.Column("moderation", sa.String(length=200), nullable=True))
    # Log-in sessions are the ones with an expiry; anonymous browser sessions have none.
    op.execute("DELETE FROM sessions WHERE expires_at IS NOT NULL")


def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table("outputs", schema=None) as batch_op:
        batch_op.drop_column("moderation")
