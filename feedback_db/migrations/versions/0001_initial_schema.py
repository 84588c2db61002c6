"""initial schema

Revision ID: 0001
Revises:
Create Date: 2026-11-23 07:50:15.564753

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table(
        "training_runs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("modality", sa.String(length=8), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("method", sa.String(length=16), nullable=True),
        sa.Column("data_counts", sa.JSON(), nullable=False),
        sa.Column("metrics", sa.JSON(), nullable=False),
        sa.Column("timings", sa.JSON(), nullable=False),
        sa.Column("report_path", sa.Text(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("modality IN ('text', 'image')", name=op.f("ck_training_runs_modality")),
        sa.CheckConstraint("status IN ('running', 'succeeded', 'failed', 'skipped')", name=op.f("ck_training_runs_status")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_training_runs")),
    )
    op.create_table(
        "users",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("password_hash", sa.String(length=255), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("role IN ('end_user', 'annotator', 'admin')", name=op.f("ck_users_role")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_users")),
        sa.UniqueConstraint("name", name=op.f("uq_users_name")),
    )
    op.create_table(
        "model_versions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("modality", sa.String(length=8), nullable=False),
        sa.Column("base_model", sa.String(length=255), nullable=False),
        sa.Column("adapter_path", sa.Text(), nullable=True),
        sa.Column("parent_id", sa.Integer(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("training_run_id", sa.Integer(), nullable=True),
        sa.Column("sampling_defaults", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("promoted_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("modality IN ('text', 'image')", name=op.f("ck_model_versions_modality")),
        sa.CheckConstraint("status IN ('candidate', 'active', 'retired')", name=op.f("ck_model_versions_status")),
        sa.ForeignKeyConstraint(["parent_id"], ["model_versions.id"], name=op.f("fk_model_versions_parent_id_model_versions")),
        sa.ForeignKeyConstraint(["training_run_id"], ["training_runs.id"], name=op.f("fk_model_versions_training_run_id_training_runs")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_model_versions")),
        sa.UniqueConstraint("name", name=op.f("uq_model_versions_name")),
    )
    with op.batch_alter_table("model_versions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_model_versions_modality"), ["modality"], unique=False)
        batch_op.create_index(
            "uq_model_versions_one_active",
            ["modality"],
            unique=True,
            sqlite_where=sa.text("status = 'active'"),
            postgresql_where=sa.text("status = 'active'"),
        )

    op.create_table(
        "sessions",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_sessions_user_id_users"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sessions")),
    )
    with op.batch_alter_table("sessions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_sessions_user_id"), ["user_id"], unique=False)

    op.create_table(
        "requests",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("modality", sa.String(length=8), nullable=False),
        sa.Column("prompt", sa.Text(), nullable=False),
        sa.Column("parameters", sa.JSON(), nullable=False),
        sa.Column("model_version", sa.String(length=120), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("session_id", sa.String(length=64), nullable=True),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("modality IN ('text', 'image')", name=op.f("ck_requests_modality")),
        sa.ForeignKeyConstraint(["session_id"], ["sessions.id"], name=op.f("fk_requests_session_id_sessions"), ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_requests_user_id_users"), ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_requests")),
    )
    with op.batch_alter_table("requests", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_requests_created_at"), ["created_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_requests_modality"), ["modality"], unique=False)
        batch_op.create_index(batch_op.f("ix_requests_model_version"), ["model_version"], unique=False)

    op.create_table(
        "assignments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("request_id", sa.Integer(), nullable=False),
        sa.Column("annotator_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("leased_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("lease_expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("submitted_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("status IN ('leased', 'submitted', 'skipped')", name=op.f("ck_assignments_status")),
        sa.ForeignKeyConstraint(["annotator_id"], ["users.id"], name=op.f("fk_assignments_annotator_id_users"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["request_id"], ["requests.id"], name=op.f("fk_assignments_request_id_requests"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_assignments")),
        sa.UniqueConstraint("request_id", "annotator_id", name="uq_assignments_request_annotator"),
    )
    op.create_table(
        "outputs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("request_id", sa.Integer(), nullable=False),
        sa.Column("index", sa.Integer(), nullable=False),
        sa.Column("text", sa.Text(), nullable=True),
        sa.Column("image_path", sa.Text(), nullable=True),
        sa.Column("image_sha256", sa.String(length=64), nullable=True),
        sa.Column("seed", sa.Integer(), nullable=False),
        sa.Column("latency_ms", sa.Double(), nullable=False),
        sa.Column("time_to_first_token_ms", sa.Double(), nullable=True),
        sa.Column("tokens", sa.Integer(), nullable=True),
        sa.Column("finish_reason", sa.String(length=16), nullable=False),
        sa.CheckConstraint("finish_reason IN ('stop', 'length', 'cancelled', 'error')", name=op.f("ck_outputs_finish_reason")),
        sa.CheckConstraint("text IS NOT NULL OR image_path IS NOT NULL", name=op.f("ck_outputs_has_content")),
        sa.ForeignKeyConstraint(["request_id"], ["requests.id"], name=op.f("fk_outputs_request_id_requests"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outputs")),
        sa.UniqueConstraint("request_id", "index", name="uq_outputs_request_index"),
    )
    with op.batch_alter_table("outputs", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_outputs_image_sha256"), ["image_sha256"], unique=False)

    op.create_table(
        "flags",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("output_id", sa.Integer(), nullable=False),
        sa.Column("rater_id", sa.Integer(), nullable=False),
        sa.Column("reason", sa.String(length=500), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["output_id"], ["outputs.id"], name=op.f("fk_flags_output_id_outputs"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["rater_id"], ["users.id"], name=op.f("fk_flags_rater_id_users"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_flags")),
        sa.UniqueConstraint("output_id", "rater_id", name="uq_flags_output_rater"),
    )
    op.create_table(
        "ratings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("output_id", sa.Integer(), nullable=False),
        sa.Column("rater_id", sa.Integer(), nullable=False),
        sa.Column("naturalness", sa.Integer(), nullable=True),
        sa.Column("reliability", sa.Integer(), nullable=True),
        sa.Column("thumbs", sa.Integer(), nullable=True),
        sa.Column("comment", sa.Text(), nullable=True),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("source IN ('end_user', 'annotator')", name=op.f("ck_ratings_source")),
        sa.CheckConstraint("naturalness IS NULL OR (naturalness >= 1 AND naturalness <= 5)", name=op.f("ck_ratings_naturalness_range")),
        sa.CheckConstraint("reliability IS NULL OR (reliability >= 1 AND reliability <= 5)", name=op.f("ck_ratings_reliability_range")),
        sa.CheckConstraint("thumbs IS NULL OR thumbs IN (-1, 1)", name=op.f("ck_ratings_thumbs")),
        sa.ForeignKeyConstraint(["output_id"], ["outputs.id"], name=op.f("fk_ratings_output_id_outputs"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["rater_id"], ["users.id"], name=op.f("fk_ratings_rater_id_users"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ratings")),
        sa.UniqueConstraint("output_id", "rater_id", name="uq_ratings_output_rater"),
    )
    with op.batch_alter_table("ratings", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_ratings_rater_id"), ["rater_id"], unique=False)

    op.create_table(
        "set_ratings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("request_id", sa.Integer(), nullable=False),
        sa.Column("rater_id", sa.Integer(), nullable=False),
        sa.Column("diversity", sa.Integer(), nullable=True),
        sa.Column("best_output_id", sa.Integer(), nullable=True),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("source IN ('end_user', 'annotator')", name=op.f("ck_set_ratings_source")),
        sa.CheckConstraint("diversity IS NULL OR (diversity >= 1 AND diversity <= 5)", name=op.f("ck_set_ratings_diversity_range")),
        sa.ForeignKeyConstraint(
            ["best_output_id"], ["outputs.id"], name=op.f("fk_set_ratings_best_output_id_outputs"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(["rater_id"], ["users.id"], name=op.f("fk_set_ratings_rater_id_users"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["request_id"], ["requests.id"], name=op.f("fk_set_ratings_request_id_requests"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_set_ratings")),
        sa.UniqueConstraint("request_id", "rater_id", name="uq_set_ratings_request_rater"),
    )
    with op.batch_alter_table("set_ratings", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_set_ratings_rater_id"), ["rater_id"], unique=False)


def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table("set_ratings", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_set_ratings_rater_id"))

    op.drop_table("set_ratings")
    with op.batch_alter_table("ratings", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_ratings_rater_id"))

    op.drop_table("ratings")
    op.drop_table("flags")
    with op.batch_alter_table("outputs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_outputs_image_sha256"))

    op.drop_table("outputs")
    op.drop_table("assignments")
    with op.batch_alter_table("requests", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_requests_model_version"))
        batch_op.drop_index(batch_op.f("ix_requests_modality"))
        batch_op.drop_index(batch_op.f("ix_requests_created_at"))

    op.drop_table("requests")
    with op.batch_alter_table("sessions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_sessions_user_id"))

    op.drop_table("sessions")
    with op.batch_alter_table("model_versions", schema=None) as batch_op:
        batch_op.drop_index("uq_model_versions_one_active")
        batch_op.drop_index(batch_op.f("ix_model_versions_modality"))

    op.drop_table("model_versions")
    op.drop_table("users")
    op.drop_table("training_runs")
