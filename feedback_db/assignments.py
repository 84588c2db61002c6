"""The annotation queue: which request an annotator rates next, with overlap `k` and leases.

The rules, in the words the UI and the docs use:

- Every request (bulk-generated or from the playground) needs `k` annotators. It has `k` *slots*;
  a submission holds a slot for good, a lease holds one until it expires.
- `next_item` gives an annotator back their own live lease (a reload, or returning from editing),
  otherwise leases the lowest free slot of the request that is closest to done (most slots held),
  oldest first, among requests they have not submitted, skipped or rated.
- A lapsed lease still carries its slot number until someone needs it; then it is taken over, and
  its holder's late submit fails with `LeaseLostError` (or takes another free slot if there is one),
  so an item is never rated by more than `k` annotators through the queue.
- Skip gives the slot back at once; skipped items do not come back to that annotator.

Concurrency: every function runs in the caller's write transaction. On SQLite that transaction
starts with BEGIN IMMEDIATE (feedback_db/engine.py), so read-then-claim is atomic. On PostgreSQL the
request row is locked (SELECT ... FOR UPDATE) before its slots are counted again, so two claims on
one request queue up; the unique (request_id, slot) constraint is the last line of defence: a slot
can never be held twice, whatever happens above it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from sqlalchemy import ColumnElement, and_, exists, func, or_, select, update
from sqlalchemy.orm import Session

from feedback_db.engine import rows_changed
from feedback_db.errors import InvalidInputError, LeaseLostError, NotAssignedError, UnknownIdError
from feedback_db.frames import withheld_request
from feedback_db.queries import set_flag, upsert_rating, upsert_set_rating
from feedback_db.replacements import current_outputs, is_current
from feedback_db.schema import Assignment, Flag, Output, Rating, Request, SetRating, utcnow

SOURCE = "annotator"
CANDIDATE_BATCH = 20  # requests tried per attempt; only a race on PostgreSQL needs more than one
CLAIM_ATTEMPTS = 3


@dataclass(frozen=True)
class QueuePolicy:
    overlap: int = 2  # k: annotators per request
    lease: timedelta = timedelta(minutes=15)
    # A request with a stopped output, or a text output shorter than this, is not worth an
    # annotator's time (a 2-token answer says nothing about fluency): it never enters the queue.
    min_output_tokens: int = 0
    # An answer cut at the length limit is judged on a sentence it never finished; it enters the
    # queue only when an admin asks for such answers (say, to study the length limit itself).
    include_cut: bool = False

    def __post_init__(self) -> None:
        if self.min_output_tokens < 0:
            raise InvalidInputError(f"the minimum output length must be 0 or more, got {self.min_output_tokens}")
        if self.overlap < 1:
            raise InvalidInputError(f"the overlap must be at least 1, got {self.overlap}")
        if self.lease <= timedelta(0):
            raise InvalidInputError("the lease must be longer than zero")


@dataclass(frozen=True)
class Lease:
    request_id: int
    slot: int
    expires_at: datetime
    resumed: bool  # the annotator already held it


@dataclass(frozen=True)
class ItemOutput:
    output_id: int
    index: int
    text: str | None
    image_path: str | None
    token_confidence: str | None = None  # as stored (JSON text): playground.services.confidence.decode reads it


@dataclass(frozen=True)
class QueueItem:
    """A request with its candidates, as shown to an annotator (plain data, no ORM rows)."""

    request_id: int
    modality: str
    prompt: str
    outputs: list[ItemOutput]


@dataclass(frozen=True)
class ItemRatings:
    """One annotator's answer for an item: (naturalness, reliability) per output, and the set."""

    scores: Mapping[int, tuple[int | None, int | None]] = field(default_factory=dict)
    diversity: int | None = None
    best_output_id: int | None = None
    flagged: frozenset[int] = frozenset()  # outputs flagged as harmful (never training data)


@dataclass(frozen=True)
class Progress:
    done_today: int
    done_total: int
    left: int  # requests this annotator could still rate (fewer than k submissions, not theirs)


def next_item(session: Session, *, annotator_id: int, policy: QueuePolicy = QueuePolicy(), now: datetime | None = None) -> Lease | None:
    """Lease the next request for `annotator_id` (or return their live lease); None when done."""
    now = now or utcnow()
    # 1. A live lease comes back first, renewed: the annotator is still at work on it. Drafts
    #    of the annotator's lapsed leases go (feedback_db/drafts.py): expired work is not kept.
    session.execute(
        update(Assignment)
        .where(Assignment.annotator_id == annotator_id, Assignment.draft.is_not(None), Assignment.lease_expires_at <= now)
        .values(draft=None)
        .execution_options(synchronize_session="fetch")
    )
    held = session.scalar(
        select(Assignment)
        .where(
            Assignment.annotator_id == annotator_id,
            Assignment.status == "leased",
            Assignment.slot.is_not(None),
            Assignment.lease_expires_at > now,
        )
        .order_by(Assignment.leased_at)
        .limit(1)
    )
    if held is not None and held.slot is not None:  # the query asks for a slot; this tells the type checker
        held.lease_expires_at = now + policy.lease
        session.flush()
        return Lease(held.request_id, held.slot, now + policy.lease, resumed=True)
    # 2. Otherwise the first candidate whose slots are still free after locking it.
    for _ in range(CLAIM_ATTEMPTS):
        candidates = _candidates(session, annotator_id, policy, now)
        for request_id in candidates:
            slot = _claim_slot(session, request_id, annotator_id, policy.overlap, now)
            if slot is not None:
                _assign(session, request_id, annotator_id, slot, now, now + policy.lease)
                return Lease(request_id, slot, now + policy.lease, resumed=False)
        if not candidates:
            break
    return None


def submit(
    session: Session,
    *,
    annotator_id: int,
    request_id: int,
    ratings: ItemRatings,
    policy: QueuePolicy = QueuePolicy(),
    now: datetime | None = None,
) -> None:
    """Save the annotator's ratings for a leased (or earlier submitted) item and mark it submitted."""
    now = now or utcnow()
    # 1. Only an item handed to this annotator can be submitted (locked: claims on it wait).
    lock_request(session, request_id)
    row = _assignment(session, request_id, annotator_id)
    if row is None or row.status == "skipped":
        raise NotAssignedError(f"request {request_id} is not assigned to you: take the next item first")
    # 2. A lapsed lease that someone took over needs another free slot, else the work is refused.
    if row.status == "leased" and row.slot is None:
        slot = _claim_slot(session, request_id, annotator_id, policy.overlap, now)
        if slot is None:
            raise LeaseLostError("your time on this item ran out and other annotators have rated it; your ratings were not saved")
        _assign(session, request_id, annotator_id, slot, now, now + policy.lease)
    # 3. Every current candidate (replaced ones are not shown) needs both scores; a set of several
    #    needs a diversity score.
    output_ids = [o.id for o in current_outputs(session, request_id=request_id)]
    _check_complete(ratings, output_ids)
    # 4. Write the ratings (upserts: editing an earlier item updates the same rows).
    for output_id in output_ids:
        naturalness, reliability = ratings.scores[output_id]
        upsert_rating(session, output_id=output_id, rater_id=annotator_id, source=SOURCE, naturalness=naturalness, reliability=reliability)
    if ratings.diversity is not None or ratings.best_output_id is not None:
        upsert_set_rating(
            session,
            request_id=request_id,
            rater_id=annotator_id,
            source=SOURCE,
            diversity=ratings.diversity,
            best_output_id=ratings.best_output_id,
        )
    # 5. Flags follow the item: flagged outputs get this annotator's flag, others lose it.
    for output_id in output_ids:
        set_flag(session, output_id=output_id, rater_id=annotator_id, flagged=output_id in ratings.flagged)
    # 6. The slot is now held for good; the draft has become these ratings.
    row.status, row.draft = "submitted", None
    row.submitted_at = row.submitted_at or now
    session.flush()


def skip(session: Session, *, annotator_id: int, request_id: int) -> None:
    """Give a leased item back at once; it will not be offered to this annotator again."""
    lock_request(session, request_id)  # a draft save on this item waits, then sees the skip
    row = _assignment(session, request_id, annotator_id)
    if row is None or row.status != "leased":
        raise NotAssignedError(f"request {request_id} is not leased to you, so it cannot be skipped")
    row.status, row.slot, row.draft = "skipped", None, None
    session.flush()


def release(session: Session, *, annotator_id: int, now: datetime | None = None) -> int:
    """Let the annotator's live leases lapse now (on log-out), so others can take them over;
    their drafts go with them."""
    now = now or utcnow()
    result = session.execute(
        update(Assignment)
        .where(Assignment.annotator_id == annotator_id, Assignment.status == "leased", Assignment.lease_expires_at > now)
        .values(lease_expires_at=now, draft=None)
    )
    return rows_changed(result)


def submitted_history(session: Session, *, annotator_id: int) -> list[int]:
    """Request ids this annotator submitted, oldest first: what Back and Next walk through."""
    return list(
        session.scalars(
            select(Assignment.request_id)
            .where(Assignment.annotator_id == annotator_id, Assignment.status == "submitted")
            .order_by(Assignment.submitted_at, Assignment.id)
        )
    )


def progress(session: Session, *, annotator_id: int, policy: QueuePolicy, now: datetime | None = None) -> Progress:
    """Done today (since midnight UTC), done in all, and requests still open to this annotator."""
    now = now or utcnow()
    midnight = now.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    mine = select(func.count(Assignment.id)).where(Assignment.annotator_id == annotator_id, Assignment.status == "submitted")
    submissions = (
        select(func.count(Assignment.id))
        .where(Assignment.request_id == Request.id, Assignment.status == "submitted")
        .correlate(Request)
        .scalar_subquery()
    )
    left = select(func.count(Request.id)).where(~_finished_by(annotator_id), submissions < policy.overlap, worth_annotating(policy))
    return Progress(
        done_today=session.scalar(mine.where(Assignment.submitted_at >= midnight)) or 0,
        done_total=session.scalar(mine) or 0,
        left=session.scalar(left) or 0,
    )


def load_item(session: Session, request_id: int) -> QueueItem:
    request = session.get(Request, request_id)
    if request is None:
        raise UnknownIdError(f"request {request_id} does not exist")
    current = current_outputs(session, request_id=request.id)
    outputs = [ItemOutput(o.id, card, o.text, o.image_path, o.token_confidence) for card, o in enumerate(current)]
    return QueueItem(request.id, request.modality, request.prompt, outputs)


def annotator_ratings(session: Session, *, annotator_id: int, request_id: int) -> ItemRatings:
    """What this annotator said about an item before (empty if nothing): for editing."""
    rows = session.execute(
        select(Rating.output_id, Rating.naturalness, Rating.reliability)
        .join(Output, Rating.output_id == Output.id)
        .where(Output.request_id == request_id, Rating.rater_id == annotator_id, Rating.source == SOURCE)
    ).all()
    whole = session.scalar(
        select(SetRating).where(SetRating.request_id == request_id, SetRating.rater_id == annotator_id, SetRating.source == SOURCE)
    )
    flagged = session.scalars(
        select(Flag.output_id)
        .join(Output, Flag.output_id == Output.id)
        .where(Output.request_id == request_id, Flag.rater_id == annotator_id)
    ).all()
    return ItemRatings(
        scores={output_id: (nat, rel) for output_id, nat, rel in rows},
        diversity=whole.diversity if whole else None,
        best_output_id=whole.best_output_id if whole else None,
        flagged=frozenset(flagged),
    )


# -- the pieces -------------------------------------------------------------------------------


def _holds_slot(now: datetime) -> ColumnElement[bool]:
    """A row holds its slot if submitted, or leased and not yet expired."""
    return and_(
        Assignment.slot.is_not(None),
        or_(Assignment.status == "submitted", and_(Assignment.status == "leased", Assignment.lease_expires_at > now)),
    )


def _finished_by(annotator_id: int) -> ColumnElement[bool]:
    """The annotator submitted, skipped or (anyhow) rated this request as an annotator."""
    assigned = exists().where(
        Assignment.request_id == Request.id,
        Assignment.annotator_id == annotator_id,
        Assignment.status.in_(("submitted", "skipped")),
    )
    rated = exists(
        select(Rating.id)
        .join(Output, Rating.output_id == Output.id)
        .where(Output.request_id == Request.id, Rating.rater_id == annotator_id, Rating.source == SOURCE)
    )
    return or_(assigned, rated)


def worth_annotating(policy: QueuePolicy) -> ColumnElement[bool]:
    """Finished requests (not running, stopped or interrupted: those have no or partial outputs)
    whose current outputs all finished on their own (or were cut at the length limit, when the
    policy takes those) and are at least the policy's tokens long (image outputs have no token
    count and pass the length test)."""
    unfinished = ("cancelled", "error") if policy.include_cut else ("cancelled", "error", "length")
    unfit = (
        select(Output.id)
        .where(
            Output.request_id == Request.id,
            is_current(),
            or_(Output.finish_reason.in_(unfinished), Output.tokens < policy.min_output_tokens),
        )
        .correlate(Request)
    )
    return and_(Request.status == "finished", ~unfit.exists())


def _candidates(session: Session, annotator_id: int, policy: QueuePolicy, now: datetime) -> list[int]:
    overlap = policy.overlap
    held = (
        select(func.count(Assignment.id)).where(Assignment.request_id == Request.id, _holds_slot(now)).correlate(Request).scalar_subquery()
    )
    # Requests closest to done first: overlap completes sooner, so agreement can be measured.
    return list(
        session.scalars(
            select(Request.id)
            .where(~_finished_by(annotator_id), held < overlap, ~withheld_request(Request.id), worth_annotating(policy))
            .order_by(held.desc(), Request.id)
            .limit(CANDIDATE_BATCH)
        )
    )


def lock_request(session: Session, request_id: int) -> None:
    """Row lock on PostgreSQL (SQLite renders no FOR UPDATE: BEGIN IMMEDIATE already serialises)."""
    if session.scalar(select(Request.id).where(Request.id == request_id).with_for_update()) is None:
        raise UnknownIdError(f"request {request_id} does not exist")


def _claim_slot(session: Session, request_id: int, annotator_id: int, overlap: int, now: datetime) -> int | None:
    """The slot this annotator may take on `request_id` now, or None if all `overlap` are held."""
    # 1. Lock, then count again: the candidate list may be stale by now (PostgreSQL).
    lock_request(session, request_id)
    rows = session.execute(
        select(Assignment.slot, _holds_slot(now)).where(Assignment.request_id == request_id, Assignment.slot.is_not(None))
    ).all()
    held = {slot for slot, holds in rows if holds}
    if len(held) >= overlap:
        return None
    # 2. Prefer a slot no lapsed lease still carries, so its holder can still finish late.
    free = set(range(overlap)) - held
    untouched = free - {slot for slot, holds in rows if not holds}
    return min(untouched or free)


def _assign(session: Session, request_id: int, annotator_id: int, slot: int, now: datetime, expires_at: datetime) -> None:
    # 1. A lapsed lease of someone else that still carries this slot number gives it up, and
    #    its draft with it.
    session.execute(
        update(Assignment)
        .where(Assignment.request_id == request_id, Assignment.slot == slot, Assignment.annotator_id != annotator_id)
        .values(slot=None, draft=None)
        .execution_options(synchronize_session="fetch")
    )
    # 2. One row per (request, annotator): reuse a lapsed one of our own.
    row = _assignment(session, request_id, annotator_id)
    if row is None:
        row = Assignment(request_id=request_id, annotator_id=annotator_id)
        session.add(row)
    row.status, row.slot, row.submitted_at, row.draft = "leased", slot, None, None
    row.leased_at, row.lease_expires_at = now, expires_at
    session.flush()


def _assignment(session: Session, request_id: int, annotator_id: int) -> Assignment | None:
    return session.scalar(select(Assignment).where(Assignment.request_id == request_id, Assignment.annotator_id == annotator_id))


def _check_complete(ratings: ItemRatings, output_ids: list[int]) -> None:
    unknown = set(ratings.scores) - set(output_ids)
    if unknown:
        raise InvalidInputError(f"outputs {sorted(unknown)} are not candidates of this request")
    for position, output_id in enumerate(output_ids, start=1):
        naturalness, reliability = ratings.scores.get(output_id, (None, None))
        if naturalness is None or reliability is None:
            raise InvalidInputError(f"rate naturalness and reliability of candidate {position} first")
    if len(output_ids) > 1 and ratings.diversity is None:
        raise InvalidInputError("rate the diversity of the set first")
