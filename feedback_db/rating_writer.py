"""Group commit for end users' ratings: many concurrent callers, one transaction per batch.

A rating from the web is three round trips when done one by one (who the caller is, whether the
output is theirs, the upsert), and on SQLite every write transaction waits for the one before it.
`RatingWriter` runs one thread that takes whatever ratings arrived while its previous commit ran
and writes them all in one transaction: one SELECT finds the callers' users, one finds the
outputs' browser sessions, then the ratings are checked as the one-by-one path checks them
(`rating_changes`) and upserted together (`upsert_ratings`: one statement per set of columns,
so the same rows as one upsert each). Each caller's future is answered only after the commit that
holds its row: acknowledged means committed.

One bad rating never fails the others in its batch: values are validated before they are
submitted, and an unknown output, unknown rater or someone else's output fails only its own row.
Should the batch's transaction fail as a whole (a database error), each of its ratings is
retried in a transaction of its own, so only the failing one reports the error.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from feedback_db.errors import NotOwnerError, UnknownIdError, UnknownRaterError
from feedback_db.queries import RatingFields, rating_changes, upsert_ratings
from feedback_db.schema import Output, Request, User, UserSession

log = logging.getLogger("feedback_db.rating_writer")
MAX_BATCH = 500  # ratings in one transaction; more wait for the next one
# Each batch's two lookups, built once with expanding IN parameters: built per batch, they
# were a quarter of the writer's time under 50 raters (docs/PERFORMANCE.md).
RATERS_OF_SESSIONS = (
    select(UserSession.id, UserSession.user_id)
    .join(User, User.id == UserSession.user_id)
    .where(UserSession.id.in_(bindparam("keys", expanding=True)))
)
OWNERS_OF_OUTPUTS = (
    select(Output.id, Request.session_id)
    .join(Request, Request.id == Output.request_id)
    .where(Output.id.in_(bindparam("output_ids", expanding=True)))
)


@dataclass(frozen=True)
class RatingWrite:
    """One end user's rating of one output; `fields` already validated (RatingFields)."""

    session_key: str  # the caller's browser session id (the keyed hash of their cookie token)
    output_id: int
    fields: RatingFields


@dataclass(frozen=True)
class RatingWritten:
    """What the caller learns once its rating is committed."""

    rater_id: int
    batch_size: int  # how many ratings its transaction held


@dataclass
class WriterStats:
    batches: int = 0
    ratings: int = 0
    largest_batch: int = 0


@dataclass
class _Pending:
    write: RatingWrite
    future: Future[RatingWritten] = field(default_factory=Future)


class RatingWriter:
    """A thread that commits submitted ratings in batches (see the module docstring).

    `begin` opens a write transaction (`with begin() as session:`), e.g. the app's
    `database.sessions.begin`, which also counts it as a write in flight for shutdown."""

    def __init__(self, begin: Callable[[], AbstractContextManager[Session]], *, max_batch: int = MAX_BATCH):
        self._begin = begin
        self._max_batch = max_batch
        self._queue: queue.SimpleQueue[_Pending | None] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._start_lock = threading.Lock()
        self.stats = WriterStats()

    def submit(self, write: RatingWrite) -> Future[RatingWritten]:
        """Queue a rating; the future resolves once it is committed (or fails with its own error)."""
        self._ensure_thread()
        pending = _Pending(write)
        self._queue.put(pending)
        return pending.future

    def close(self, timeout_s: float = 10.0) -> None:
        """Write what was submitted, then stop the thread."""
        with self._start_lock:
            thread, self._thread = self._thread, None
        if thread is not None:
            self._queue.put(None)
            thread.join(timeout_s)

    def _ensure_thread(self) -> None:
        with self._start_lock:
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="rating-writer", daemon=True)
                self._thread.start()

    def _run(self) -> None:
        while True:
            # 1. Wait for one rating, then take every rating that is already waiting too.
            first = self._queue.get()
            batch = [first] if first is not None else []
            while first is not None and len(batch) < self._max_batch:
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
                if item is None:
                    first = None
                    break
                batch.append(item)
            # 2. Commit them together; answer each caller.
            if batch:
                self._write_batch(batch)
            if first is None:
                return

    def _write_batch(self, batch: list[_Pending]) -> None:
        try:
            with self._begin() as session:
                outcomes = write_ratings(session, [p.write for p in batch])
        except Exception as error:  # noqa: BLE001 - a database error: find the rating it belongs to
            if len(batch) == 1:
                _answer(batch[0], error)
                return
            log.warning("a batch of %d ratings failed (%s); writing them one by one", len(batch), error)
            for pending in batch:
                self._write_batch([pending])
            return
        self._count(len(batch))
        for pending, outcome in zip(batch, outcomes, strict=True):
            _answer(pending, outcome if isinstance(outcome, Exception) else RatingWritten(outcome, len(batch)))

    def _count(self, size: int) -> None:
        self.stats.batches += 1
        self.stats.ratings += size
        self.stats.largest_batch = max(self.stats.largest_batch, size)


def write_ratings(session: Session, writes: Sequence[RatingWrite]) -> list[int | Exception]:
    """Write `writes` in the caller's transaction, in order; for each, its rater's id or the
    error that refused it (nothing is written for a refused one)."""
    # 1. Who is behind each session key, and whose request each output is: two statements.
    connection = session.connection()
    keys = sorted({w.session_key for w in writes})
    raters: dict[str, int] = {key: user_id for key, user_id in connection.execute(RATERS_OF_SESSIONS, {"keys": keys})}
    output_ids = sorted({w.output_id for w in writes})
    owners: dict[int, str | None] = {output: owner for output, owner in connection.execute(OWNERS_OF_OUTPUTS, {"output_ids": output_ids})}
    # 2. Each rating checked against them; the accepted ones folded per (output, rater) in order,
    #    so a later write of a field wins over an earlier one in the same batch.
    outcomes: list[int | Exception] = []
    folded: dict[tuple[int, int], dict[str, Any]] = {}
    for write in writes:
        try:
            rater_id = _check(write, raters, owners)
            changes = rating_changes("end_user", **write.fields)
        except (UnknownRaterError, UnknownIdError, NotOwnerError, ValueError, TypeError) as error:
            outcomes.append(error)  # refused before any statement: nothing of it is written
        else:
            folded.setdefault((write.output_id, rater_id), {}).update(changes)
            outcomes.append(rater_id)
    # 3. Upserted: one executemany per set of columns written.
    upsert_ratings(session, folded)
    return outcomes


def _check(write: RatingWrite, raters: dict[str, int], owners: dict[int, str | None]) -> int:
    """The rater's id, if the caller has a user and the output exists and is theirs."""
    rater_id = raters.get(write.session_key)
    if rater_id is None:
        raise UnknownRaterError("this browser session has no user yet")
    if write.output_id not in owners:
        raise UnknownIdError(f"output {write.output_id} does not exist")
    if owners[write.output_id] != write.session_key:
        raise NotOwnerError(f"output {write.output_id} belongs to another session")
    return rater_id


def _answer(pending: _Pending, outcome: RatingWritten | BaseException) -> None:
    if isinstance(outcome, BaseException):
        pending.future.set_exception(outcome)
    else:
        pending.future.set_result(outcome)
