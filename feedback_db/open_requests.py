"""Requests stored when their generation starts, so a page reload or a crash loses none of them.

`record_request(..., running=True)` (feedback_db/queries.py) stores the prompt, parameters and
version with status "running" and no outputs; `close_request` adds the outputs and sets the
status once the generation ends: "finished", "stopped" (the user's Stop: partial outputs, finish
reason "cancelled") or "interrupted" (the page went away or the generator failed: whatever text
there was, possibly none). A request a stopped server left "running" stays so; the history shows
it as not finished.

Requests without outputs count as requests (feedback_db/activity.py) but are in no rating, queue
or training data: those all start from outputs.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from feedback_db.errors import InvalidInputError, RequestClosedError, UnknownIdError
from feedback_db.queries import NewOutput, check_outputs, cleaned_output
from feedback_db.schema import Output, Request

CLOSED_STATUSES = ("finished", "stopped", "interrupted")


def close_request(session: Session, *, request_id: int, outputs: list[NewOutput], status: str) -> Request:
    """Add a running request's outputs and set how it ended (flushed, not committed).

    An interrupted request may have no outputs (it ended before any text or image was ready);
    a finished or stopped one has at least one, each checked as for `record_request`."""
    # 1. The status, and the outputs it allows.
    if status not in CLOSED_STATUSES:
        raise InvalidInputError(f"a request closes as one of {CLOSED_STATUSES}, not {status!r}")
    outputs = [cleaned_output(o) for o in outputs]
    if outputs or status != "interrupted":
        check_outputs(outputs)
    # 2. The request, still running (locked on PostgreSQL; SQLite's write transaction serialises).
    request = session.get(Request, request_id, with_for_update=True)
    if request is None:
        raise UnknownIdError(f"request {request_id} does not exist")
    if request.status != "running":
        raise RequestClosedError(f"request {request_id} already closed as {request.status}")
    # 3. Its outputs and its end.
    request.outputs = [Output(**vars(o)) for o in outputs]
    request.status = status
    session.flush()
    return request


def discard_request(session: Session, *, request_id: int) -> None:
    """Delete a running request that never started generating (its input was refused)."""
    request = session.get(Request, request_id, with_for_update=True)
    if request is None or request.status != "running" or request.outputs:
        raise RequestClosedError(f"request {request_id} is not a running request without outputs")
    session.delete(request)
    session.flush()
