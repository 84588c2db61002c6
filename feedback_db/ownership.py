"""Who a request or output belongs to, and what one rater has said about one output.

Requests belong to the browser session that made them (`requests.session_id`); the app lets a
viewer rate only their own session's candidates and asks these before every write.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from feedback_db.errors import UnknownIdError
from feedback_db.schema import Flag, Output, Rating, Request


def request_session(session: Session, *, request_id: int) -> str | None:
    """The browser session that made a request (None: no browser, e.g. bulk); UnknownIdError if
    there is no such request."""
    row = session.execute(select(Request.session_id).where(Request.id == request_id)).first()
    if row is None:
        raise UnknownIdError(f"request {request_id} does not exist")
    owner: str | None = row.session_id
    return owner


def output_session(session: Session, *, output_id: int) -> str | None:
    """The browser session that made an output's request, in one query; UnknownIdError if there
    is no such output."""
    row = session.execute(select(Request.session_id).join(Output, Output.request_id == Request.id).where(Output.id == output_id)).first()
    if row is None:
        raise UnknownIdError(f"output {output_id} does not exist")
    owner: str | None = row.session_id
    return owner


def rater_rating(session: Session, *, output_id: int, rater_id: int) -> Rating | None:
    return session.scalar(select(Rating).where(Rating.output_id == output_id, Rating.rater_id == rater_id))


def rater_flag(session: Session, *, output_id: int, rater_id: int) -> Flag | None:
    return session.scalar(select(Flag).where(Flag.output_id == output_id, Flag.rater_id == rater_id))
