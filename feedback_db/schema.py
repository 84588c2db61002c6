"""The feedback database as SQLAlchemy 2.0 typed models.

Scores are CHECK-constrained in the database itself, so a bug in any client (UI, API, script)
cannot store an out-of-range rating. One rating per (output, rater) and one set rating per
(request, rater) are unique constraints: changing one's mind updates the row.

Every string and JSON column uses the cleaning types of feedback_db/clean_text.py, so no writer -
query function, arena, script or raw ORM - can store a control character other than tab, LF, CR.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    DateTime,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    MetaData,
    UniqueConstraint,
    text,
    true,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from feedback_db.clean_text import CleanJSON, CleanString, CleanText

ROLES = ("end_user", "annotator", "admin")
RATING_SOURCES = ("end_user", "annotator")
MODALITIES = ("text", "image")
FINISH_REASONS = ("stop", "length", "cancelled", "error")
# A request is stored when its generation starts ("running", no outputs yet) and closed with its
# outputs: "finished", "stopped" (the user's Stop) or "interrupted" (the page went away, the
# generator failed, or the server stopped before it finished).
REQUEST_STATUSES = ("running", "finished", "stopped", "interrupted")
VERSION_STATUSES = ("candidate", "active", "retired")
RUN_STATUSES = ("running", "succeeded", "failed", "skipped")
ASSIGNMENT_STATUSES = ("leased", "submitted", "skipped")
BATTLE_OUTCOMES = ("a", "b", "tie", "both_bad")
SCORE_MIN, SCORE_MAX = 1, 5

# Deterministic constraint names keep Alembic migrations (and SQLite batch mode) stable.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    return datetime.now(UTC)


def _one_of(column: str, values: tuple[str, ...]) -> str:
    quoted = ", ".join(f"'{v}'" for v in values)
    return f"{column} IN ({quoted})"


def _score(column: str) -> CheckConstraint:
    return CheckConstraint(
        f"{column} IS NULL OR ({column} >= {SCORE_MIN} AND {column} <= {SCORE_MAX})",
        name=f"{column}_range",
    )


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {dict[str, Any]: CleanJSON, datetime: DateTime(timezone=True)}


class User(Base):
    __tablename__ = "users"
    __table_args__ = (CheckConstraint(_one_of("role", ROLES), name="role"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(CleanString(120), unique=True)
    role: Mapped[str] = mapped_column(CleanString(16))
    # Only annotators and admins log in; anonymous end users have no password.
    password_hash: Mapped[str | None] = mapped_column(CleanString(255))
    # Whether this identity's requests use sampling defaults learned from its own ratings
    # (playground/services/personal_defaults.py); the user turns them off and on.
    personal_defaults: Mapped[bool] = mapped_column(default=True, server_default=true())
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class UserSession(Base):
    """A browser session: anonymous end users keep one identity per session."""

    __tablename__ = "sessions"

    id: Mapped[str] = mapped_column(CleanString(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime | None]


class ModelVersion(Base):
    __tablename__ = "model_versions"
    __table_args__ = (
        CheckConstraint(_one_of("modality", MODALITIES), name="modality"),
        CheckConstraint(_one_of("status", VERSION_STATUSES), name="status"),
        # At most one active global version per modality, and one active personal version per
        # modality and owner, enforced by the database.
        Index(
            "uq_model_versions_one_active",
            "modality",
            unique=True,
            sqlite_where=text("status = 'active' AND owner_id IS NULL"),
            postgresql_where=text("status = 'active' AND owner_id IS NULL"),
        ),
        Index(
            "uq_model_versions_one_personal",
            "modality",
            "owner_id",
            unique=True,
            sqlite_where=text("status = 'active' AND owner_id IS NOT NULL"),
            postgresql_where=text("status = 'active' AND owner_id IS NOT NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(CleanString(120), unique=True)
    modality: Mapped[str] = mapped_column(CleanString(8), index=True)
    base_model: Mapped[str] = mapped_column(CleanString(255))
    adapter_path: Mapped[str | None] = mapped_column(CleanText)
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("model_versions.id"))
    status: Mapped[str] = mapped_column(CleanString(16), default="candidate")
    training_run_id: Mapped[int | None] = mapped_column(ForeignKey("training_runs.id"))
    # Sampling defaults learned from diversity/naturalness ratings (temperature, guidance, ...).
    sampling_defaults: Mapped[dict[str, Any]] = mapped_column(default=dict)
    # A personal version: trained on this identity's own ratings and served to it alone (None:
    # the global version everyone is served). It goes with its owner ("Delete my data").
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    promoted_at: Mapped[datetime | None]


class TrainingRun(Base):
    __tablename__ = "training_runs"
    __table_args__ = (
        CheckConstraint(_one_of("modality", MODALITIES), name="modality"),
        CheckConstraint(_one_of("status", RUN_STATUSES), name="status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    modality: Mapped[str] = mapped_column(CleanString(8))
    status: Mapped[str] = mapped_column(CleanString(16), default="running")
    method: Mapped[str | None] = mapped_column(CleanString(16))  # dpo | kto | sft | lora
    data_counts: Mapped[dict[str, Any]] = mapped_column(default=dict)
    metrics: Mapped[dict[str, Any]] = mapped_column(default=dict)
    timings: Mapped[dict[str, Any]] = mapped_column(default=dict)
    report_path: Mapped[str | None] = mapped_column(CleanText)
    error: Mapped[str | None] = mapped_column(CleanText)
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)  # a personal run's identity
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None]


class Request(Base):
    """One prompt sent to a generator, with the parameters and version that answered it."""

    __tablename__ = "requests"
    __table_args__ = (
        CheckConstraint(_one_of("modality", MODALITIES), name="modality"),
        CheckConstraint(_one_of("status", REQUEST_STATUSES), name="status"),
        # A browser's history, newest first, and the restore on every page load
        # (tests/benchmarks/bench_history.py): one index serves the filter and the order.
        Index("ix_requests_session_created", "session_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    modality: Mapped[str] = mapped_column(CleanString(8), index=True)
    prompt: Mapped[str] = mapped_column(CleanText)
    parameters: Mapped[dict[str, Any]] = mapped_column(default=dict)
    model_version: Mapped[str] = mapped_column(CleanString(120), index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    session_id: Mapped[str | None] = mapped_column(ForeignKey("sessions.id", ondelete="SET NULL"))
    source: Mapped[str] = mapped_column(CleanString(16), default="playground")  # playground | bulk
    status: Mapped[str] = mapped_column(CleanString(12), default="finished", server_default="finished")
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)

    outputs: Mapped[list[Output]] = relationship(back_populates="request", order_by="Output.index", cascade="all, delete-orphan")


class Output(Base):
    """One candidate of a request: text, or an image file named by its sha256."""

    __tablename__ = "outputs"
    __table_args__ = (
        UniqueConstraint("request_id", "index", name="uq_outputs_request_index"),
        CheckConstraint("text IS NOT NULL OR image_path IS NOT NULL", name="has_content"),
        CheckConstraint(_one_of("finish_reason", FINISH_REASONS), name="finish_reason"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("requests.id", ondelete="CASCADE"))
    index: Mapped[int] = mapped_column(Integer)
    text: Mapped[str | None] = mapped_column(CleanText)
    image_path: Mapped[str | None] = mapped_column(CleanText)
    image_sha256: Mapped[str | None] = mapped_column(CleanString(64), index=True)
    # Seeds run to 2**32 - 1 (models/base.py): above PostgreSQL's INTEGER (2**31 - 1), so BIGINT;
    # SQLite's INTEGER already holds 64 bits (migration 0012).
    seed: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"))
    latency_ms: Mapped[float]
    time_to_first_token_ms: Mapped[float | None]
    tokens: Mapped[int | None]
    finish_reason: Mapped[str] = mapped_column(CleanString(16), default="stop")
    # Set when the content filter withheld this output (its reason); such outputs never reach
    # training data or the annotation queue (feedback_db.frames, feedback_db.assignments).
    moderation: Mapped[str | None] = mapped_column(CleanString(200))
    # Set on an output made by regenerating one card: the output it replaced, which stays with its
    # ratings. Unique, so the database itself lets an output be replaced only once; `index` stays
    # the order of creation (see feedback_db/replacements.py).
    replaces_output_id: Mapped[int | None] = mapped_column(ForeignKey("outputs.id", ondelete="SET NULL"), unique=True)
    # A text output's token confidence as the generator reported it: each token's probability and
    # its top alternatives, as compact JSON text written and read by playground/services/confidence.py
    # (the database never parses it). Its mean and minimum are kept beside it so exports and
    # Insights read two numbers, not every token. NULL: none reported (images, older rows).
    token_confidence: Mapped[str | None] = mapped_column(CleanText)
    confidence_mean: Mapped[float | None]
    confidence_min: Mapped[float | None]

    request: Mapped[Request] = relationship(back_populates="outputs")


class Rating(Base):
    __tablename__ = "ratings"
    __table_args__ = (
        UniqueConstraint("output_id", "rater_id", name="uq_ratings_output_rater"),
        _score("naturalness"),
        _score("reliability"),
        CheckConstraint("thumbs IS NULL OR thumbs IN (-1, 1)", name="thumbs"),
        CheckConstraint(_one_of("source", RATING_SOURCES), name="source"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    output_id: Mapped[int] = mapped_column(ForeignKey("outputs.id", ondelete="CASCADE"))
    rater_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    naturalness: Mapped[int | None]
    reliability: Mapped[int | None]
    thumbs: Mapped[int | None]
    comment: Mapped[str | None] = mapped_column(CleanText)
    # Why a thumbs-down: chips and details (feedback_db/reasons.py); flags keep theirs in Flag.reason.
    reason: Mapped[str | None] = mapped_column(CleanString(500))
    source: Mapped[str] = mapped_column(CleanString(16))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class SetRating(Base):
    """A rater's view of a request's candidates as a whole: diversity and the best pick."""

    __tablename__ = "set_ratings"
    __table_args__ = (
        UniqueConstraint("request_id", "rater_id", name="uq_set_ratings_request_rater"),
        _score("diversity"),
        CheckConstraint(_one_of("source", RATING_SOURCES), name="source"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("requests.id", ondelete="CASCADE"))
    rater_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    diversity: Mapped[int | None]
    best_output_id: Mapped[int | None] = mapped_column(ForeignKey("outputs.id", ondelete="SET NULL"))
    source: Mapped[str] = mapped_column(CleanString(16))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class Flag(Base):
    __tablename__ = "flags"
    __table_args__ = (UniqueConstraint("output_id", "rater_id", name="uq_flags_output_rater"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    output_id: Mapped[int] = mapped_column(ForeignKey("outputs.id", ondelete="CASCADE"))
    rater_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    reason: Mapped[str] = mapped_column(CleanString(500), default="harmful")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Assignment(Base):
    """An annotator's lease on a request to rate; the lease expires if abandoned.

    A request has `k` slots (the overlap). A live lease or a submission holds one slot number;
    the unique (request, slot) constraint makes the database itself refuse to hand one slot to
    two annotators, whatever the isolation level. Skipped and taken-over leases hold no slot
    (NULL, which unique constraints ignore). See feedback_db/assignments.py; a live lease may
    carry a draft of unsubmitted scores, see feedback_db/drafts.py.
    """

    __tablename__ = "assignments"
    __table_args__ = (
        UniqueConstraint("request_id", "annotator_id", name="uq_assignments_request_annotator"),
        UniqueConstraint("request_id", "slot", name="uq_assignments_request_slot"),
        CheckConstraint(_one_of("status", ASSIGNMENT_STATUSES), name="status"),
        CheckConstraint("slot IS NULL OR slot >= 0", name="slot"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("requests.id", ondelete="CASCADE"))
    annotator_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    slot: Mapped[int | None] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(CleanString(16), default="leased")
    leased_at: Mapped[datetime] = mapped_column(default=utcnow)
    lease_expires_at: Mapped[datetime]
    submitted_at: Mapped[datetime | None]
    # Scores set on a live lease but not yet submitted, so a reload or a crash loses nothing
    # (feedback_db/drafts.py); cleared on submit, skip, log-out, expiry and take-over.
    draft: Mapped[dict[str, Any] | None]


class Battle(Base):
    """One arena prompt answered by two contestants shown as "A" and "B" without their names.

    A contestant is a model version, or a sampling preset of one (the preset is '' for the
    version's own defaults). The two sides always differ. The request ids are set once both
    sides have finished; until then the battle takes no vote. See feedback_db/arena.py.
    """

    __tablename__ = "battles"
    __table_args__ = (
        CheckConstraint(_one_of("modality", MODALITIES), name="modality"),
        CheckConstraint("version_a <> version_b OR preset_a <> preset_b", name="two_sides"),
        # The target of the vote's composite foreign key (a vote names the battle's versions).
        UniqueConstraint("id", "version_a", "version_b", name="uq_battles_id_sides"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    modality: Mapped[str] = mapped_column(CleanString(8), index=True)
    prompt: Mapped[str] = mapped_column(CleanText)
    version_a: Mapped[str] = mapped_column(CleanString(120))
    version_b: Mapped[str] = mapped_column(CleanString(120))
    preset_a: Mapped[str] = mapped_column(CleanString(64), default="")
    preset_b: Mapped[str] = mapped_column(CleanString(64), default="")
    request_a_id: Mapped[int | None] = mapped_column(ForeignKey("requests.id", ondelete="SET NULL"))
    request_b_id: Mapped[int | None] = mapped_column(ForeignKey("requests.id", ondelete="SET NULL"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    finished_at: Mapped[datetime | None]


class BattleVote(Base):
    """The single vote on a battle: side A, side B, a tie, or both bad.

    The vote repeats the battle's two version names under a composite foreign key, so the
    database itself checks that a winner is one of the battle's two versions (or none, for a
    tie or both-bad); the unique battle id makes a second vote impossible.
    """

    __tablename__ = "battle_votes"
    __table_args__ = (
        ForeignKeyConstraint(
            ["battle_id", "version_a", "version_b"],
            ["battles.id", "battles.version_a", "battles.version_b"],
            ondelete="CASCADE",
            name="fk_battle_votes_battle_sides",
        ),
        CheckConstraint(_one_of("outcome", BATTLE_OUTCOMES), name="outcome"),
        CheckConstraint(
            "(outcome = 'a' AND winner = version_a) OR (outcome = 'b' AND winner = version_b)"
            " OR (outcome IN ('tie', 'both_bad') AND winner IS NULL)",
            name="winner",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    battle_id: Mapped[int] = mapped_column(unique=True)
    version_a: Mapped[str] = mapped_column(CleanString(120))
    version_b: Mapped[str] = mapped_column(CleanString(120))
    outcome: Mapped[str] = mapped_column(CleanString(8))
    winner: Mapped[str | None] = mapped_column(CleanString(120))
    voter_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    reason: Mapped[str | None] = mapped_column(CleanString(500))
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
