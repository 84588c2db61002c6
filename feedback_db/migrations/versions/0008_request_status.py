"""request status: requests.status, so a request is stored when its generation starts

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-06 17:00:00

`requests.status` is "running" from the start of a generation (no outputs yet) until it closes
"finished", "stopped" or "interrupted" (feedback_db/open_requests.py). Every existing request was
stored once finished, so the column's server default, "finished", is right for all of them; one
whose outputs were all stopped by the user is marked "stopped".
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0008"
down_revision: str | Sequence[str] | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Upgrade schema."""
    with op.batch_alter_table("requests", schema=None) as batch_op:
        batch_op.add_column(sa.Column("status", sa.String(length=12), server_default="finished", nullable=False))
        batch_op.create_check_constraint(op.f("ck_requests_status"), "status IN ('running', 'finished', 'stopped', 'interrupted')")
    op.execute(
        "UPDATE requests SET status = 'stopped' WHERE EXISTS "
        "(SELECT 1 FROM outputs WHERE outputs.request_id = requests.id AND outputs.finish_reason = 'cancelled')"
    )


def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table("requests", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_requests_status"), type_="check")
        batch_op.drop_column("status")
