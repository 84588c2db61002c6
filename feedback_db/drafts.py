"""Drafts: the scores an annotator has set on their current item but not yet submitted.

A draft lives on the annotator's assignment row (`assignments.draft`, JSON), so it is keyed by
the annotator and the queue item, kept on the server (nothing personal goes to browser storage),
and survives a reload, a browser crash or a server restart. It only exists on a live lease:

- `save_draft` replaces it with the page's current scores, after checking them like a submit
  would (1-5, candidates of this request); it refuses another annotator's item, an unknown
  request and a lapsed lease, and an error leaves the stored draft as it was.
- `load_draft` gives it back while the lease is live (`playground.services.annotation.take_next`).
- It goes with the lease: submit, skip, log-out (`release`), the annotator's own lapsed leases
  when they ask for the next item, and a take-over by another annotator all clear it
  (feedback_db/assignments.py).

A save that arrives after the item was submitted (the page sends the last click and Submit
close together) is moot and dropped, not an error: the submitted scores already hold.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from feedback_db.assignments import ItemRatings, lock_request
from feedback_db.errors import InvalidInputError, LeaseLostError, NotAssignedError
from feedback_db.replacements import is_current
from feedback_db.schema import SCORE_MAX, SCORE_MIN, Assignment, Output, utcnow


def save_draft(session: Session, *, annotator_id: int, request_id: int, ratings: ItemRatings, now: datetime | None = None) -> bool:
    """Store `ratings` (complete or not) as the draft of the annotator's live lease on the request.

    Returns False when the item is already submitted (the draft is moot), True when stored.
    """
    now = now or utcnow()
    # 1. Locked like submit and claims, so a draft never lands after a submit or a take-over.
    lock_request(session, request_id)
    found = session.execute(
        select(Assignment, Assignment.lease_expires_at > now).where(
            Assignment.request_id == request_id, Assignment.annotator_id == annotator_id
        )
    ).first()
    # 2. Only the annotator's own live lease keeps a draft.
    if found is None or found[0].status == "skipped":
        raise NotAssignedError(f"request {request_id} is not assigned to you: take the next item first")
    row, live = found
    if row.status == "submitted":
        return False
    if row.slot is None or not live:
        raise LeaseLostError(
            "your time on this item ran out, so its scores are no longer kept as a draft: submit them now, or take the next item"
        )
    # 3. The same checks as a submit, except that scores may still be missing.
    output_ids = set(session.scalars(select(Output.id).where(Output.request_id == request_id, is_current())))
    row.draft = _as_json(_checked(ratings, output_ids))
    session.flush()
    return True


def load_draft(session: Session, *, annotator_id: int, request_id: int, now: datetime | None = None) -> ItemRatings:
    """The draft of the annotator's live lease on the request; empty ratings if there is none."""
    now = now or utcnow()
    draft = session.scalar(
        select(Assignment.draft).where(
            Assignment.request_id == request_id,
            Assignment.annotator_id == annotator_id,
            Assignment.status == "leased",
            Assignment.slot.is_not(None),
            Assignment.lease_expires_at > now,
        )
    )
    return _from_json(draft) if draft else ItemRatings()


def _checked(ratings: ItemRatings, output_ids: set[int]) -> ItemRatings:
    best = {ratings.best_output_id} if ratings.best_output_id is not None else set()
    named = set(ratings.scores) | set(ratings.flagged) | best
    unknown = named - output_ids
    if unknown:
        raise InvalidInputError(f"outputs {sorted(unknown)} are not candidates of this request")
    for naturalness, reliability in ratings.scores.values():
        _check_score("naturalness", naturalness)
        _check_score("reliability", reliability)
    _check_score("diversity", ratings.diversity)
    return ratings


def _check_score(what: str, value: Any) -> None:
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int) or not SCORE_MIN <= value <= SCORE_MAX:
        raise InvalidInputError(f"{what} must be a whole number from {SCORE_MIN} to {SCORE_MAX}, got {value!r}")


def _as_json(ratings: ItemRatings) -> dict[str, Any] | None:
    """JSON object keys are strings: output ids become "12"; None when nothing is set."""
    scores = {str(o): [n, r] for o, (n, r) in ratings.scores.items() if n is not None or r is not None}
    if not scores and ratings.diversity is None and ratings.best_output_id is None and not ratings.flagged:
        return None
    return {"scores": scores, "diversity": ratings.diversity, "best_output_id": ratings.best_output_id, "flagged": sorted(ratings.flagged)}


def _from_json(draft: dict[str, Any]) -> ItemRatings:
    return ItemRatings(
        scores={int(o): (pair[0], pair[1]) for o, pair in draft.get("scores", {}).items()},
        diversity=draft.get("diversity"),
        best_output_id=draft.get("best_output_id"),
        flagged=frozenset(draft.get("flagged", [])),
    )
