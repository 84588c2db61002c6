"""outputs.seed as BIGINT: seeds run to 2**32 - 1, past a 32-bit INTEGER

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-07 23:30:00

A seed is drawn from [0, 2**32) (models/base.py checks that range), and on PostgreSQL an
INTEGER column holds at most 2**31 - 1: about half of all generations with a drawn seed failed
to be stored there ("integer out of range"). SQLite's INTEGER already stores 64-bit values, and
changing a column's declared type there means rebuilding `outputs` (whose deletion cascades to
its ratings), so SQLite is left as it is.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0012"
down_revision: str | Sequence[str] | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Upgrade schema. PostgreSQL rewrites `outputs` for the new type and locks it meanwhile
    (seconds per million rows), so the first start after upgrading a large database takes longer."""
    if op.get_bind().dialect.name != "sqlite":
        op.alter_column("outputs", "seed", type_=sa.BigInteger(), existing_type=sa.Integer(), existing_nullable=False)


def downgrade() -> None:
    """Downgrade schema; fails on a server database that holds a seed above 2**31 - 1."""
    if op.get_bind().dialect.name != "sqlite":
        op.alter_column("outputs", "seed", type_=sa.Integer(), existing_type=sa.BigInteger(), existing_nullable=False)
