"""Feedback over time, for "has the feedback drifted since the active version was trained?"
(playground/services/feedback_drift.py computes the figures).

Each frame holds one modality's feedback with the time it was given (`at`, UTC): the prompts that
got any feedback, every score, and every output that got a rating or a flag. Withheld outputs
stay in: a flag is part of what drifts. `trained_cutoff` says where "then" ends: when the active
global version's training run started, which is when that run read its feedback.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pandas as pd
from sqlalchemy import Select, exists, func, literal, select, union_all
from sqlalchemy.orm import Session

from feedback_db.schema import Flag, Output, Rating, Request, SetRating, TrainingRun
from feedback_db.versions import active_version

PROMPT_COLUMNS = ["request_id", "prompt", "at"]
SCORE_COLUMNS = ["at", "axis", "score"]
OUTPUT_COLUMNS = ["output_id", "at", "flagged"]


@dataclass(frozen=True)
class TrainedCutoff:
    """The active global version and when its training run read the feedback (both None: the
    base model serves, or a version without a run)."""

    version: str | None
    read_at: datetime | None


def trained_cutoff(session: Session, *, modality: str) -> TrainedCutoff:
    active = active_version(session, modality=modality)
    run = session.get(TrainingRun, active.training_run_id) if active is not None and active.training_run_id else None
    if active is None or run is None:
        return TrainedCutoff(active.name if active else None, None)
    # SQLite hands back naive datetimes; every time stored here is UTC.
    read_at = run.started_at if run.started_at.tzinfo else run.started_at.replace(tzinfo=UTC)
    return TrainedCutoff(active.name, read_at)


def feedback_prompts(session: Session, *, modality: str) -> pd.DataFrame:
    """One row per request that got a rating, a set rating or a flag: its prompt, and when it got
    its first feedback."""
    events = union_all(
        select(Output.request_id.label("request_id"), Rating.created_at.label("at")).join(Output, Rating.output_id == Output.id),
        select(SetRating.request_id.label("request_id"), SetRating.created_at.label("at")),
        select(Output.request_id.label("request_id"), Flag.created_at.label("at")).join(Output, Flag.output_id == Output.id),
    ).subquery()
    first = select(events.c.request_id, func.min(events.c.at).label("at")).group_by(events.c.request_id).subquery()
    statement = (
        select(Request.id.label("request_id"), Request.prompt, first.c.at)
        .join(first, first.c.request_id == Request.id)
        .where(Request.modality == modality)
        .order_by(first.c.at)
    )
    return _read(session, statement, PROMPT_COLUMNS)


def feedback_scores(session: Session, *, modality: str) -> pd.DataFrame:
    """One row per score given (naturalness, reliability, diversity) and when it was given."""
    parts = [
        select(Rating.created_at.label("at"), literal(axis).label("axis"), getattr(Rating, axis).label("score"))
        .join(Output, Rating.output_id == Output.id)
        .join(Request, Output.request_id == Request.id)
        .where(Request.modality == modality, getattr(Rating, axis).is_not(None))
        for axis in ("naturalness", "reliability")
    ]
    parts.append(
        select(SetRating.created_at.label("at"), literal("diversity").label("axis"), SetRating.diversity.label("score"))
        .join(Request, SetRating.request_id == Request.id)
        .where(Request.modality == modality, SetRating.diversity.is_not(None))
    )
    scores = union_all(*parts).subquery()
    frame = _read(session, select(scores.c.at, scores.c.axis, scores.c.score).order_by(scores.c.at), SCORE_COLUMNS)
    frame["score"] = frame["score"].astype(float)
    return frame


def feedback_outputs(session: Session, *, modality: str) -> pd.DataFrame:
    """One row per output that got a rating or a flag: when it got the first, and whether anyone
    flagged it."""
    events = union_all(
        select(Rating.output_id.label("output_id"), Rating.created_at.label("at")),
        select(Flag.output_id.label("output_id"), Flag.created_at.label("at")),
    ).subquery()
    first = select(events.c.output_id, func.min(events.c.at).label("at")).group_by(events.c.output_id).subquery()
    statement = (
        select(Output.id.label("output_id"), first.c.at, exists().where(Flag.output_id == Output.id).label("flagged"))
        .join(first, first.c.output_id == Output.id)
        .join(Request, Output.request_id == Request.id)
        .where(Request.modality == modality)
        .order_by(first.c.at)
    )
    frame = _read(session, statement, OUTPUT_COLUMNS)
    frame["flagged"] = frame["flagged"].astype(bool)
    return frame


def _read(session: Session, statement: Select[*tuple[Any, ...]], columns: list[str]) -> pd.DataFrame:
    frame = pd.read_sql(statement, session.connection())
    frame = frame if not frame.empty else pd.DataFrame(columns=columns)
    frame["at"] = pd.to_datetime(frame["at"], utc=True)
    return frame[columns]
