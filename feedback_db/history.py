"""A browser's own history: its past requests with their candidates and its own ratings.

Requests belong to the browser session that made them (`requests.session_id`, a keyed hash of
the browser's cookie token), so a history survives reloads and restarts and is never anyone
else's. Only playground requests are listed: an arena request would name the version behind an
anonymous side before the vote, and bulk requests belong to no browser. Withheld candidates stay
in the view with their `moderation` and flag, so the caller can show them as elsewhere.

A request is listed from the moment its generation starts (status "running", no candidates yet)
and keeps how it ended: finished, stopped or interrupted (feedback_db/open_requests.py).

A request's candidates are its current outputs, one per card; outputs that a regenerated card
replaced come in the view's `replaced`, with this rater's ratings (feedback_db/replacements.py).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Exists, exists, func, select
from sqlalchemy.orm import Session

from feedback_db.errors import InvalidInputError, UnknownIdError
from feedback_db.replacements import card_positions, in_card_order, is_current
from feedback_db.schema import Flag, ModelVersion, Output, Rating, Request, SetRating

HISTORY_SOURCES = ("playground",)
MAX_PER_PAGE = 100


@dataclass(frozen=True)
class HistoryEntry:
    request_id: int
    modality: str
    prompt: str
    model_version: str
    created_at: datetime
    candidates: int  # current ones: one per card
    rated: int  # current candidates this rater rated (any field)
    replaced: int = 0  # outputs that a regenerated card replaced
    status: str = "finished"  # running | finished | stopped | interrupted (feedback_db/open_requests.py)
    personal: bool = False  # answered by the rater's own personal version (feedback_db/personal.py)


@dataclass(frozen=True)
class HistoryPage:
    entries: list[HistoryEntry]
    page: int  # 1-based, clamped to the last page
    pages: int
    total: int


@dataclass(frozen=True)
class CandidateView:
    output_id: int
    index: int  # its card, 0-based (a replaced output: the card it was in)
    text: str | None
    image_path: str | None
    seed: int
    latency_ms: float
    time_to_first_token_ms: float | None  # text only
    tokens: int | None
    finish_reason: str
    moderation: str | None  # why the content filter withheld it, if it did
    naturalness: int | None = None
    reliability: int | None = None
    thumbs: int | None = None
    comment: str | None = None
    reason: str | None = None  # of the thumbs-down
    flagged: bool = False
    flag_reason: str | None = None
    # Token confidence as stored (JSON text; playground.services.confidence.decode reads it):
    # None for images, older rows and backends that report none.
    token_confidence: str | None = None

    @property
    def tokens_per_s(self) -> float | None:
        """Derived, not stored: the tokens over the whole generation time, as the text model
        reports it while generating (models.base.TextOutput.tokens_per_s)."""
        if self.tokens is None or self.latency_ms <= 0:
            return None
        return self.tokens / (self.latency_ms / 1000)


@dataclass(frozen=True)
class RequestView:
    request_id: int
    modality: str
    prompt: str
    parameters: dict[str, Any]
    model_version: str
    created_at: datetime
    candidates: list[CandidateView]  # current: one per card, in card order
    diversity: int | None
    best_index: int | None  # None too when the best pick is an output since replaced
    replaced: list[CandidateView] = field(default_factory=list)  # oldest first
    best_output_id: int | None = None  # as stored, even when it names a replaced output
    status: str = "finished"  # running | finished | stopped | interrupted (feedback_db/open_requests.py)
    personal: bool = False  # answered by the rater's own personal version


def _own(session_id: str, modality: str | None = None) -> list[ColumnElement[bool]]:
    conditions = [Request.session_id == session_id, Request.source.in_(HISTORY_SOURCES)]
    return conditions + ([Request.modality == modality] if modality is not None else [])


def history_page(
    session: Session,
    *,
    session_id: str,
    rater_id: int,
    page: int = 1,
    per_page: int = 10,
    modality: str | None = None,
) -> HistoryPage:
    """One page of this browser's requests, newest first."""
    # 1. Check the paging values; a page past the end shows the last one.
    if isinstance(page, bool) or not isinstance(page, int) or page < 1:
        raise InvalidInputError(f"the page must be a whole number from 1, got {page!r}")
    if isinstance(per_page, bool) or not isinstance(per_page, int) or not 1 <= per_page <= MAX_PER_PAGE:
        raise InvalidInputError(f"a page holds 1 to {MAX_PER_PAGE} requests, got {per_page!r}")
    total = session.scalar(select(func.count(Request.id)).where(*_own(session_id, modality))) or 0
    pages = max(1, math.ceil(total / per_page))
    page = min(page, pages)
    # 2. The requests with their candidate counts and how many this rater rated.
    candidates = select(func.count(Output.id)).where(Output.request_id == Request.id, is_current()).scalar_subquery()
    replaced = select(func.count(Output.id)).where(Output.request_id == Request.id, ~is_current()).scalar_subquery()
    rated = (
        select(func.count(Rating.id))
        .join(Output, Rating.output_id == Output.id)
        .where(Output.request_id == Request.id, Rating.rater_id == rater_id, is_current())
        .scalar_subquery()
    )
    rows = session.execute(
        select(
            Request.id,
            Request.modality,
            Request.prompt,
            Request.model_version,
            Request.created_at,
            candidates,
            rated,
            replaced,
            Request.status,
            _answered_by_own_version(rater_id),
        )
        .where(*_own(session_id, modality))
        .order_by(Request.created_at.desc(), Request.id.desc())
        .limit(per_page)
        .offset((page - 1) * per_page)
    ).all()
    return HistoryPage([HistoryEntry(*row) for row in rows], page, pages, total)


def last_request_id(session: Session, *, session_id: str, modality: str) -> int | None:
    """This browser's newest request of `modality`, or None."""
    return session.scalar(
        select(Request.id).where(*_own(session_id, modality)).order_by(Request.created_at.desc(), Request.id.desc()).limit(1)
    )


def request_view(session: Session, *, request_id: int, session_id: str, rater_id: int) -> RequestView:
    """One of this browser's requests with its candidates and this rater's ratings and flags.

    Someone else's request is refused exactly like a missing one, so ids reveal nothing."""
    # 1. The request, if it is this browser's.
    request = session.get(Request, request_id)
    if request is None or request.session_id != session_id or request.source not in HISTORY_SOURCES:
        raise UnknownIdError(f"request {request_id} is not in this browser's history")
    # 2. This rater's ratings and flags on its outputs.
    output_ids = [o.id for o in request.outputs]
    ratings = {r.output_id: r for r in session.scalars(select(Rating).where(Rating.output_id.in_(output_ids), Rating.rater_id == rater_id))}
    flags = {f.output_id: f for f in session.scalars(select(Flag).where(Flag.output_id.in_(output_ids), Flag.rater_id == rater_id))}
    set_rating = session.scalar(select(SetRating).where(SetRating.request_id == request_id, SetRating.rater_id == rater_id))
    # 3. One view per card, and one per replaced output (with the card it was in).
    positions = card_positions(request.outputs)
    current = in_card_order(request.outputs)
    views = {o.id: _candidate(o, positions[o.id], ratings.get(o.id), flags.get(o.id)) for o in request.outputs}
    candidates = [views[o.id] for o in current]
    replaced = [views[o.id] for o in request.outputs if o not in current]
    best_output_id = set_rating.best_output_id if set_rating else None
    best = next((c.index for c in candidates if c.output_id == best_output_id), None)
    return RequestView(
        request.id,
        request.modality,
        request.prompt,
        dict(request.parameters or {}),
        request.model_version,
        request.created_at,
        candidates,
        set_rating.diversity if set_rating else None,
        best,
        replaced,
        best_output_id,
        request.status,
        bool(session.scalar(select(_answered_by_own_version(rater_id).where(Request.id == request.id)))),
    )


def _answered_by_own_version(rater_id: int) -> Exists:
    """Whether the request's version is one of `rater_id`'s personal versions."""
    return exists().where(ModelVersion.name == Request.model_version, ModelVersion.owner_id == rater_id)


def _candidate(output: Output, position: int, rating: Rating | None, flag: Flag | None) -> CandidateView:
    return CandidateView(
        output.id,
        position,
        output.text,
        output.image_path,
        output.seed,
        output.latency_ms,
        output.time_to_first_token_ms,
        output.tokens,
        output.finish_reason,
        output.moderation,
        naturalness=rating.naturalness if rating else None,
        reliability=rating.reliability if rating else None,
        thumbs=rating.thumbs if rating else None,
        comment=rating.comment if rating else None,
        reason=rating.reason if rating else None,
        flagged=flag is not None,
        flag_reason=flag.reason if flag else None,
        token_confidence=output.token_confidence,
    )
