"""personal defaults: users.personal_defaults, whether an identity's own ratings tune its defaults

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-06 18:00:00

On for every identity (server default true): sampling defaults learned from an identity's own
ratings apply only where its ratings show them (playground/services/personal_defaults.py), and
the user can turn them off beside the parameters.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0009"
down_revision: str | Sequence[str] | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Upgrade schema."""
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(sa.Column("personal_defaults", sa.Boolean(), server_default=sa.true(), nullable=False))


def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_column("personal_defaults")
