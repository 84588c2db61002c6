"""personal versions: model_versions.owner_id and training_runs.owner_id

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-06 20:30:00

A personal version is trained on one identity's own ratings and served to it alone; its row and
its training runs name that identity as owner (ON DELETE CASCADE: "Delete my data" takes them).
Every existing version and run is global (owner NULL). The one-active-version index now covers
global versions only, and a second one allows one active personal version per identity.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0010"
down_revision: str | Sequence[str] | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

GLOBAL_ACTIVE = "status = 'active' AND owner_id IS NULL"
PERSONAL_ACTIVE = "status = 'active' AND owner_id IS NOT NULL"


def upgrade() -> None:
    """Upgrade schema."""
    for table in ("model_versions", "training_runs"):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column("owner_id", sa.Integer(), nullable=True))
            batch_op.create_index(batch_op.f(f"ix_{table}_owner_id"), ["owner_id"], unique=False)
            batch_op.create_foreign_key(f"fk_{table}_owner_id_users", "users", ["owner_id"], ["id"], ondelete="CASCADE")
    op.drop_index("uq_model_versions_one_active", table_name="model_versions")
    op.create_index(
        "uq_model_versions_one_active",
        "model_versions",
        ["modality"],
        unique=True,
        sqlite_where=sa.text(GLOBAL_ACTIVE),
        postgresql_where=sa.text(GLOBAL_ACTIVE),
    )
    op.create_index(
        "uq_model_versions_one_personal",
        "model_versions",
        ["modality", "owner_id"],
        unique=True,
        sqlite_where=sa.text(PERSONAL_ACTIVE),
        postgresql_where=sa.text(PERSONAL_ACTIVE),
    )


def downgrade() -> None:
    """Downgrade schema (personal versions and runs are deleted: the old schema cannot hold them)."""
    op.execute("DELETE FROM model_versions WHERE owner_id IS NOT NULL")
    op.execute("DELETE FROM training_runs WHERE owner_id IS NOT NULL")
    op.drop_index("uq_model_versions_one_personal", table_name="model_versions")
    op.drop_index("uq_model_versions_one_active", table_name="model_versions")
    op.create_index(
        "uq_model_versions_one_active",
        "model_versions",
        ["modality"],
        unique=True,
        sqlite_where=sa.text("status = 'active'"),
        postgresql_where=sa.text("status = 'active'"),
    )
    for table in ("model_versions", "training_runs"):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_constraint(f"fk_{table}_owner_id_users", type_="foreignkey")
            batch_op.drop_index(batch_op.f(f"ix_{table}_owner_id"))
            batch_op.drop_column("owner_id")
