"""Counts of what is stored, overall and for one rater (the footer, Your ratings, Insights).

Each count has one definition, here, so every place on the page that states it agrees:

- a *rated output* is an output with at least one score or thumb (from the rater asked about,
  or from anyone): rating two axes of one output is still one rated output;
- a *score* is one axis value: a naturalness or reliability score of an output, or a diversity
  score of a set of candidates.

A comment alone, a flag or a best pick is neither. Flagged and moderated outputs count: the
counts say what people gave, not what training may use.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, case, func, literal, or_, select
from sqlalchemy.orm import Session

from feedback_db.schema import BattleVote, Output, Rating, Request, SetRating

# SQL for the definitions above, shared by the totals and the per-rating rows.
RATED = or_(Rating.naturalness.is_not(None), Rating.reliability.is_not(None), Rating.thumbs.is_not(None))
OUTPUT_SCORES = case((Rating.naturalness.is_not(None), 1), else_=0) + case((Rating.reliability.is_not(None), 1), else_=0)
SET_SCORES = case((SetRating.diversity.is_not(None), 1), else_=0)


@dataclass(frozen=True)
class FeedbackCounts:
    rated_outputs: int
    scores: int


@dataclass(frozen=True)
class RatedAt:
    """One rating or set rating of a rater: when it last changed and what it counts for."""

    modality: str
    changed_at: datetime
    rated_outputs: int  # 1 for an output's rating with a score or thumb, else 0
    scores: int


def request_count(session: Session) -> int:
    """Generation requests stored so far (arena battles' sides included)."""
    return session.scalar(select(func.count(Request.id))) or 0


def feedback_counts(
    session: Session, *, rater_id: int | None = None, modality: str | None = None, since: datetime | None = None
) -> FeedbackCounts:
    """Rated outputs and scores (see the module's definitions), of one rater or of everyone, for
    one modality or all, of requests made `since` or all."""
    # 1. Rated outputs: distinct, so two people rating one output count it once.
    rated = select(func.count(func.distinct(Rating.output_id))).select_from(Rating).where(RATED)
    # 2. Scores: each axis value of each output's rating, then each set's diversity.
    output_scores = select(func.sum(OUTPUT_SCORES)).select_from(Rating)
    set_scores = (
        select(func.sum(SET_SCORES))
        .select_from(SetRating)
        .join(Request, SetRating.request_id == Request.id)
        .where(*_filters(SetRating, rater_id, modality, since))
    )
    return FeedbackCounts(
        rated_outputs=_scalar(session, _of_outputs(rated, rater_id, modality, since)),
        scores=_scalar(session, _of_outputs(output_scores, rater_id, modality, since)) + _scalar(session, set_scores),
    )


def rating_times(session: Session, *, rater_id: int) -> list[RatedAt]:
    """Every rating and set rating this rater gave that counts for something, with its last change."""
    ratings = session.execute(
        select(Request.modality, Rating.updated_at, case((RATED, 1), else_=0), OUTPUT_SCORES)
        .join(Output, Rating.output_id == Output.id)
        .join(Request, Output.request_id == Request.id)
        .where(Rating.rater_id == rater_id)
    ).all()
    set_ratings = session.execute(
        select(Request.modality, SetRating.updated_at, literal(0), SET_SCORES)
        .join(Request, SetRating.request_id == Request.id)
        .where(SetRating.rater_id == rater_id)
    ).all()
    rows = [RatedAt(modality, changed_at, int(rated), int(scores)) for modality, changed_at, rated, scores in [*ratings, *set_ratings]]
    return [row for row in rows if row.rated_outputs or row.scores]


def vote_count(session: Session, *, voter_id: int) -> int:
    """Arena votes this voter cast."""
    return session.scalar(select(func.count(BattleVote.id)).where(BattleVote.voter_id == voter_id)) or 0


def _of_outputs(statement: Select[Any], rater_id: int | None, modality: str | None, since: datetime | None) -> Select[Any]:
    """`statement` over ratings, joined to their requests and narrowed as asked."""
    joined = statement.join(Output, Rating.output_id == Output.id).join(Request, Output.request_id == Request.id)
    return joined.where(*_filters(Rating, rater_id, modality, since))


def _filters(
    model: type[Rating] | type[SetRating], rater_id: int | None, modality: str | None, since: datetime | None
) -> list[ColumnElement[bool]]:
    filters = []
    if rater_id is not None:
        filters.append(model.rater_id == rater_id)
    if modality is not None:
        filters.append(Request.modality == modality)
    if since is not None:
        filters.append(Request.created_at >= since)
    return filters


def _scalar(session: Session, statement: Select[Any]) -> int:
    return int(session.scalar(statement) or 0)
