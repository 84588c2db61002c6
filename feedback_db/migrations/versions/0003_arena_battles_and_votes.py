"""arena battles and votes: a vote's winner is one of its battle's two versions (composite FK)

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23 18:04:43.533822

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0003"
down_revision: str | Sequence[str] | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table(
        "battles",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("modality", sa.String(length=8), nullable=False),
        sa.Column("prompt", sa.Text(), nullable=False),
        sa.Column("version_a", sa.String(length=120), nullable=False),
        sa.Column("version_b", sa.String(length=120), nullable=False),
        sa.Column("preset_a", sa.String(length=64), nullable=False),
        sa.Column("preset_b", sa.String(length=64), nullable=False),
        sa.Column("request_a_id", sa.Integer(), nullable=True),
        sa.Column("request_b_id", sa.Integer(), nullable=True),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("modality IN ('text', 'image')", name=op.f("ck_battles_modality")),
        sa.CheckConstraint("version_a <> version_b OR preset_a <> preset_b", name=op.f("ck_battles_two_sides")),
        sa.ForeignKeyConstraint(["request_a_id"], ["requests.id"], name=op.f("fk_battles_request_a_id_requests"), ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["request_b_id"], ["requests.id"], name=op.f("fk_battles_request_b_id_requests"), ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_battles_user_id_users"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_battles")),
        sa.UniqueConstraint("id", "version_a", "version_b", name="uq_battles_id_sides"),
    )
    with op.batch_alter_table("battles", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_battles_created_at"), ["created_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_battles_modality"), ["modality"], unique=False)
        batch_op.create_index(batch_op.f("ix_battles_user_id"), ["user_id"], unique=False)

    op.create_table(
        "battle_votes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("battle_id", sa.Integer(), nullable=False),
        sa.Column("version_a", sa.String(length=120), nullable=False),
        sa.Column("version_b", sa.String(length=120), nullable=False),
        sa.Column("outcome", sa.String(length=8), nullable=False),
        sa.Column("winner", sa.String(length=120), nullable=True),
        sa.Column("voter_id", sa.Integer(), nullable=False),
        sa.Column("reason", sa.String(length=500), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "(outcome = 'a' AND winner = version_a) OR (outcome = 'b' AND winner = version_b)"
            " OR (outcome IN ('tie', 'both_bad') AND winner IS NULL)",
            name=op.f("ck_battle_votes_winner"),
        ),
        sa.CheckConstraint("outcome IN ('a', 'b', 'tie', 'both_bad')", name=op.f("ck_battle_votes_outcome")),
        sa.ForeignKeyConstraint(
            ["battle_id", "version_a", "version_b"],
            ["battles.id", "battles.version_a", "battles.version_b"],
            name="fk_battle_votes_battle_sides",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(["voter_id"], ["users.id"], name=op.f("fk_battle_votes_voter_id_users"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_battle_votes")),
        sa.UniqueConstraint("battle_id", name=op.f("uq_battle_votes_battle_id")),
    )
    with op.batch_alter_table("battle_votes", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_battle_votes_created_at"), ["created_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_battle_votes_voter_id"), ["voter_id"], unique=False)


def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table("battle_votes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_battle_votes_voter_id"))
        batch_op.drop_index(batch_op.f("ix_battle_votes_created_at"))

    op.drop_table("battle_votes")
    with op.batch_alter_table("battles", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_battles_user_id"))
        batch_op.drop_index(batch_op.f("ix_battles_modality"))
        batch_op.drop_index(batch_op.f("ix_battles_created_at"))

    op.drop_table("battles")
