"""Counts of what is stored, overall and for one rater (the status line, the My ratings tab)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from feedback_db.schema import BattleVote, Output, Rating, Request, SetRating


def feedback_totals(session: Session) -> tuple[int, int]:
    """(requests, ratings) stored so far."""
    requests = session.scalar(select(func.count(Request.id))) or 0
    ratings = session.scalar(select(func.count(Rating.id))) or 0
    return requests, ratings


def rating_times(session: Session, *, rater_id: int) -> list[tuple[str, datetime]]:
    """(modality, last change) of every rating and set rating this rater gave."""
    ratings = session.execute(
        select(Request.modality, Rating.updated_at)
        .join(Output, Rating.output_id == Output.id)
        .join(Request, Output.request_id == Request.id)
        .where(Rating.rater_id == rater_id)
    ).all()
    set_ratings = session.execute(
        select(Request.modality, SetRating.updated_at)
        .join(Request, SetRating.request_id == Request.id)
        .where(SetRating.rater_id == rater_id)
    ).all()
    return [(row.modality, row.updated_at) for row in [*ratings, *set_ratings]]


def vote_count(session: Session, *, voter_id: int) -> int:
    """Arena votes this voter cast."""
    return session.scalar(select(func.count(BattleVote.id)).where(BattleVote.voter_id == voter_id)) or 0
