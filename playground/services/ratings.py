"""Rating handlers for end users: every click is saved at once and can be changed (upsert).

End users may rate only the candidates generated in their own browser session; otherwise anyone
could cycle through output ids over the API and stuff the ballot.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from typing import Any, Unpack

from feedback_db.errors import InvalidInputError, NotOwnerError, UnknownRaterError
from feedback_db.ownership import output_session, rater_flag, rater_rating, request_session
from feedback_db.queries import DEFAULT_FLAG_REASON, UNSET, RatingFields, save_rating, set_flag, upsert_rating, upsert_set_rating
from feedback_db.rating_writer import RatingWrite, RatingWriter
from feedback_db.reasons import compose_reason
from playground.core.database import Database
from playground.core.errors import NotAllowedError, StaleRequestError
from playground.services.identity import Viewer

RATING_FIELDS = tuple(RatingFields.__annotations__)  # naturalness, reliability, thumbs, comment, reason
GENERATE_FIRST = "generate first, then rate"  # rating needs an identity, which only a generation creates
NOT_YOURS = "you can rate only the candidates generated in your own session"


def rate_output(database: Database, viewer: Viewer, output_id: int, **fields: Unpack[RatingFields]) -> str:
    """Save some of naturalness/reliability/thumbs/comment for one output; return a status line."""
    _complete_fields(fields)
    _check_own_output(database, viewer, output_id)  # the output exists, and so does the viewer
    with database.sessions.begin() as session:
        save_rating(session, output_id=output_id, rater_id=viewer.user_id, source="end_user", **fields)
    return _saved(fields)


async def rate_output_grouped(writer: RatingWriter, client_key: str, output_id: int, **fields: Unpack[RatingFields]) -> str:
    """`rate_output` through the group-committing writer (feedback_db/rating_writer.py): the
    viewer lookup and the ownership check run inside the batch's transaction. Returns once the
    rating is committed; the same rows and the same refusals as `rate_output`."""
    _complete_fields(fields)
    try:
        await asyncio.wrap_future(writer.submit(RatingWrite(client_key, output_id, fields)))
    except UnknownRaterError as error:
        raise StaleRequestError(GENERATE_FIRST) from error
    except NotOwnerError as error:
        raise NotAllowedError(NOT_YOURS) from error
    return _saved(fields)


def _complete_fields(fields: RatingFields) -> None:
    """Refuse unknown fields; a thumbs-up or a cleared thumbs clears the thumbs-down's reason."""
    unknown = set(fields) - set(RATING_FIELDS)
    if unknown:
        raise ValueError(f"unknown rating fields: {sorted(unknown)}")
    if fields.get("thumbs", -1) != -1:
        fields.setdefault("reason", None)  # a reason explains a thumbs-down; it goes with it


def _saved(fields: RatingFields) -> str:
    return "Saved " + ", ".join(_describe(name, value) for name, value in fields.items() if name != "reason")


def give_reason(database: Database, viewer: Viewer, output_id: int, chips: Iterable[str] | None, detail: str | None) -> str:
    """Say why this viewer gave the output a thumbs-down and/or flagged it (feedback_db/reasons.py).

    The reason lands in whichever of the two the viewer gave; with neither, it is refused."""
    # 1. Validate the chips and details before touching the database.
    reason = compose_reason(chips, detail)
    _check_own_output(database, viewer, output_id)
    with database.sessions.begin() as session:
        # 2. What the reason explains: this viewer's thumbs-down, flag, or both.
        rating = rater_rating(session, output_id=output_id, rater_id=viewer.user_id)
        flag = rater_flag(session, output_id=output_id, rater_id=viewer.user_id)
        thumbs_down = rating is not None and rating.thumbs == -1
        if not thumbs_down and flag is None:
            raise InvalidInputError("a reason goes with a thumbs-down or a flag: give one of them first")
        # 3. Store it there.
        if thumbs_down:
            upsert_rating(session, output_id=output_id, rater_id=viewer.user_id, source="end_user", reason=reason)
        if flag is not None:
            set_flag(session, output_id=output_id, rater_id=viewer.user_id, flagged=True, reason=reason or DEFAULT_FLAG_REASON)
    return f"Saved reason: {reason}" if reason else "Reason cleared"


def rate_set(
    database: Database,
    viewer: Viewer,
    request_id: int,
    *,
    diversity: int | None | Any = UNSET,
    best_output_id: int | None | Any = UNSET,
) -> str:
    """Save the diversity score and/or best pick for a request's candidates."""
    _check_own_request(database, viewer, request_id)
    with database.sessions.begin() as session:
        upsert_set_rating(
            session,
            request_id=request_id,
            rater_id=viewer.user_id,
            source="end_user",
            diversity=diversity,
            best_output_id=best_output_id,
        )
    fields = {"diversity": diversity, "best": best_output_id}
    return "Saved " + ", ".join(_describe(k, v) for k, v in fields.items() if v is not UNSET)


def flag_output(database: Database, viewer: Viewer, output_id: int, flagged: bool, reason: str | None = None) -> str:
    _check_own_output(database, viewer, output_id)
    with database.sessions.begin() as session:
        set_flag(session, output_id=output_id, rater_id=viewer.user_id, flagged=flagged, reason=reason)
    return "Flagged as harmful: it will not be used for training" if flagged else "Flag removed"


def _describe(name: str, value: Any) -> str:
    if name == "comment":
        return "comment" if value else "comment cleared"
    if name == "thumbs":
        return {1: "thumbs up", -1: "thumbs down"}.get(value, "thumbs cleared")
    if name == "best":
        return "best pick"
    return f"{name} {value}"


# The ownership checks read outside the write transaction: who generated a request never changes,
# and the write lock is then held only for the write itself (SQLite has one writer at a time).


def _check_own_request(database: Database, viewer: Viewer, request_id: int) -> None:
    with database.read_sessions() as session:
        _check_owner(request_session(session, request_id=request_id), viewer)


def _check_own_output(database: Database, viewer: Viewer, output_id: int) -> None:
    """One query: the output's request's browser session."""
    with database.read_sessions() as session:
        _check_owner(output_session(session, output_id=output_id), viewer)


def _check_owner(session_id: str | None, viewer: Viewer) -> None:
    if session_id != viewer.browser_session:
        raise NotAllowedError(NOT_YOURS)
