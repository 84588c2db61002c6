"""Reading feedback as pandas DataFrames: what retraining, insights and export work from.

Each frame is one SQL query read by pandas; JSON parameters are serialised to text so every
frame survives CSV, Parquet and JSONL unchanged.

Withheld outputs - flagged by a rater or moderated by the content filter - are left out of every
frame by default, so nothing built from these frames (training data, exports for training) can
contain them. Audits pass `include_withheld=True` and get a `withheld` column instead.

Outputs that a regenerated card replaced stay in every frame with their ratings: they answered
the same prompt with the same parameters and version, so they are feedback like any other. The
`replaced` column tells them apart (feedback_db/replacements.py).
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import pandas as pd
from sqlalchemy import ColumnElement, Select, exists, or_, select
from sqlalchemy.orm import InstrumentedAttribute, Session, aliased

from feedback_db.replacements import is_current
from feedback_db.schema import Flag, Output, Rating, Request, SetRating, User

FRAMES = ("ratings", "set_ratings", "outputs", "flags")


def withheld(output: type[Output] = Output) -> ColumnElement[bool]:
    """SQL: the output (the entity or an alias) was flagged by anyone or moderated."""
    return or_(exists().where(Flag.output_id == output.id), output.moderation.is_not(None))


def withheld_request(request_id: ColumnElement[int] | InstrumentedAttribute[int]) -> ColumnElement[bool]:
    """SQL: some current output of the request is withheld (its best pick or pairs could leak it).
    A replaced one is no longer shown with the request, so it withholds nothing."""
    inner = aliased(Output)
    return exists().where(inner.request_id == request_id, withheld(inner), is_current(inner))


DATETIME_COLUMNS = ("created_at", "updated_at", "request_created_at")


def _request_filter(statement: Select[*tuple[Any, ...]], modality: str | None, since: datetime | None) -> Select[*tuple[Any, ...]]:
    if modality is not None:
        statement = statement.where(Request.modality == modality)
    if since is not None:
        statement = statement.where(Request.created_at >= since)
    return statement


def _read(session: Session, statement: Select[*tuple[Any, ...]]) -> pd.DataFrame:
    frame = pd.read_sql(statement, session.connection())
    if "parameters" in frame:
        frame["parameters"] = frame["parameters"].map(_as_json_text)
    for column in DATETIME_COLUMNS:
        if column in frame:
            frame[column] = pd.to_datetime(frame[column], utc=True)
    return frame


def _as_json_text(value: object) -> str:
    return value if isinstance(value, str) else json.dumps(value, sort_keys=True)


def ratings_frame(
    session: Session,
    *,
    modality: str | None = None,
    since: datetime | None = None,
    include_withheld: bool = False,
    rater_id: int | None = None,
) -> pd.DataFrame:
    """One row per rating, with its output, request and rater role (withheld outputs left out)."""
    flagged = exists().where(Flag.output_id == Output.id)
    statement = (
        select(
            Rating.id.label("rating_id"),
            Request.id.label("request_id"),
            Output.id.label("output_id"),
            Output.index.label("output_index"),
            Request.modality,
            Request.prompt,
            Request.parameters,
            Request.model_version,
            Output.text,
            Output.image_path,
            Output.seed,
            Output.confidence_mean,
            Output.confidence_min,
            Rating.rater_id,
            User.role.label("rater_role"),
            Rating.source,
            Rating.naturalness,
            Rating.reliability,
            Rating.thumbs,
            Rating.comment,
            Rating.reason,
            flagged.label("flagged"),
            Output.moderation,
            (~is_current()).label("replaced"),
            Rating.created_at,
            Rating.updated_at,
        )
        .join(Output, Rating.output_id == Output.id)
        .join(Request, Output.request_id == Request.id)
        .join(User, Rating.rater_id == User.id)
        .order_by(Rating.id)
    )
    if not include_withheld:
        statement = statement.where(~withheld())
    if rater_id is not None:  # one identity's own ratings (personal defaults)
        statement = statement.where(Rating.rater_id == rater_id)
    frame = _read(session, _request_filter(statement, modality, since))
    frame["flagged"] = frame["flagged"].astype(bool)
    frame["replaced"] = frame["replaced"].astype(bool)
    return frame


def set_ratings_frame(
    session: Session,
    *,
    modality: str | None = None,
    since: datetime | None = None,
    include_withheld: bool = False,
    rater_id: int | None = None,
) -> pd.DataFrame:
    """One row per set rating: diversity and the best pick of a request's candidates.

    Rows whose best pick is withheld are left out unless `include_withheld` (pairs against a
    withheld candidate cannot form: `outputs_frame` leaves it out of the pool)."""
    best = aliased(Output)
    statement = (
        select(
            SetRating.id.label("set_rating_id"),
            Request.id.label("request_id"),
            Request.modality,
            Request.prompt,
            Request.model_version,
            SetRating.rater_id,
            User.role.label("rater_role"),
            SetRating.source,
            SetRating.diversity,
            SetRating.best_output_id,
            best.index.label("best_output_index"),
            SetRating.created_at,
            SetRating.updated_at,
        )
        .join(Request, SetRating.request_id == Request.id)
        .join(User, SetRating.rater_id == User.id)
        .outerjoin(best, SetRating.best_output_id == best.id)
        .order_by(SetRating.id)
    )
    if not include_withheld:
        statement = statement.where(or_(best.id.is_(None), ~withheld(best)))
    if rater_id is not None:
        statement = statement.where(SetRating.rater_id == rater_id)
    return _read(session, _request_filter(statement, modality, since))


def outputs_frame(
    session: Session,
    *,
    modality: str | None = None,
    since: datetime | None = None,
    include_withheld: bool = False,
    token_confidence: bool = False,
) -> pd.DataFrame:
    """One row per generated output with its request, rated or not (withheld ones left out).

    Every row has its token confidence's mean and minimum (empty for images and outputs without
    it); `token_confidence` adds the tokens themselves, as stored (JSON text, for the full export)."""
    statement = (
        select(
            Output.id.label("output_id"),
            Request.id.label("request_id"),
            Output.index.label("output_index"),
            Request.modality,
            Request.prompt,
            Request.parameters,
            Request.model_version,
            Request.source.label("request_source"),
            Output.text,
            Output.image_path,
            Output.image_sha256,
            Output.seed,
            Output.latency_ms,
            Output.time_to_first_token_ms,
            Output.tokens,
            Output.finish_reason,
            Output.confidence_mean,
            Output.confidence_min,
            Output.moderation,
            withheld().label("withheld"),
            (~is_current()).label("replaced"),
            Request.created_at.label("request_created_at"),
        )
        .join(Request, Output.request_id == Request.id)
        .order_by(Output.id)
    )
    if not include_withheld:
        statement = statement.where(~withheld())
    if token_confidence:
        statement = statement.add_columns(Output.token_confidence)
    frame = _read(session, _request_filter(statement, modality, since))
    frame["withheld"] = frame["withheld"].astype(bool)
    frame["replaced"] = frame["replaced"].astype(bool)
    return frame


def flags_frame(session: Session) -> pd.DataFrame:
    statement = select(Flag.id.label("flag_id"), Flag.output_id, Flag.rater_id, Flag.reason, Flag.created_at).order_by(Flag.id)
    return _read(session, statement)


def read_frames(session: Session, *, modality: str | None = None, include_withheld: bool = False) -> dict[str, pd.DataFrame]:
    """All feedback frames by name (see FRAMES); the outputs with their token confidence."""
    return {
        "ratings": ratings_frame(session, modality=modality, include_withheld=include_withheld),
        "set_ratings": set_ratings_frame(session, modality=modality, include_withheld=include_withheld),
        "outputs": outputs_frame(session, modality=modality, include_withheld=include_withheld, token_confidence=True),
        "flags": flags_frame(session),
    }
