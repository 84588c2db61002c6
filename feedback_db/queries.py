"""Writing feedback: requests with their outputs, ratings, set ratings and flags.

Every function takes the caller's Session and never commits: the caller owns the transaction
(`with factory.begin() as session:`), so a request and its outputs land together or not at all.
Values are validated here with clear errors before the database's own CHECK constraints.
Text is cleaned of control characters before it is checked (so "\x00" counts as empty); the
column types clean every stored value again whoever writes it (feedback_db/clean_text.py).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum
from typing import Any, TypedDict, Unpack, cast

from sqlalchemy import Executable, Table, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

# clean_text stays importable from here: playground/ takes it from feedback_db.queries.
from feedback_db.clean_text import clean_json, clean_text
from feedback_db.errors import InvalidInputError, UnknownIdError
from feedback_db.schema import (
    FINISH_REASONS,
    MODALITIES,
    RATING_SOURCES,
    SCORE_MAX,
    SCORE_MIN,
    Flag,
    Output,
    Rating,
    Request,
    SetRating,
    User,
    utcnow,
)

# The dialects whose INSERT has ON CONFLICT DO UPDATE; others select, then write.
NATIVE_INSERTS: dict[str, Callable[..., Any]] = {"sqlite": sqlite.insert, "postgresql": postgresql.insert}
MAX_PROMPT_CHARS = 100_000
MAX_COMMENT_CHARS = 5_000
MAX_REASON_CHARS = 500  # the width of ratings.reason and flags.reason
DEFAULT_FLAG_REASON = "harmful"
MAX_MODERATION_CHARS = 200


class _Unset(Enum):
    UNSET = "unset"


UNSET = _Unset.UNSET  # "leave this field as it is" in upserts; None clears a field


@dataclass
class NewOutput:
    """One candidate to store with its request."""

    index: int
    seed: int
    latency_ms: float
    text: str | None = None
    image_path: str | None = None
    image_sha256: str | None = None
    tokens: int | None = None
    time_to_first_token_ms: float | None = None
    finish_reason: str = "stop"
    moderation: str | None = None  # why the content filter withheld it; never used for training
    # Token confidence as playground/services/confidence.py encodes it, with its mean and minimum
    # probability (None: none reported). Stored as given; only the numbers are checked here.
    token_confidence: str | None = None
    confidence_mean: float | None = None
    confidence_min: float | None = None


def record_request(
    session: Session,
    *,
    modality: str,
    prompt: str,
    parameters: dict[str, Any],
    model_version: str,
    outputs: list[NewOutput],
    user_id: int | None = None,
    session_id: str | None = None,
    source: str = "playground",
    running: bool = False,
) -> Request:
    """Store a request and all of its outputs (flushed, so ids are set; not committed).

    `running`: the generation is starting; the request has no outputs yet and is closed with them
    by feedback_db.open_requests.close_request. Otherwise it is "finished", or "stopped" when the
    user stopped its outputs. Control characters are stripped from the prompt, texts and
    parameters before the checks.
    """
    prompt = clean_text(prompt) if isinstance(prompt, str) else prompt
    outputs = [cleaned_output(o) for o in outputs]
    check_request_fields(modality, prompt)
    if running and outputs:
        raise InvalidInputError("a running request has no outputs yet")
    if not running:
        check_outputs(outputs)
    stopped = any(o.finish_reason == "cancelled" for o in outputs)
    request = Request(
        modality=modality,
        prompt=prompt,
        parameters=clean_json(parameters),
        model_version=model_version,
        user_id=user_id,
        session_id=session_id,
        source=source,
        status="running" if running else "stopped" if stopped else "finished",
    )
    request.outputs = [Output(**vars(o)) for o in outputs]
    session.add(request)
    session.flush()
    return request


def cleaned_output(output: NewOutput) -> NewOutput:
    """The output with control characters stripped from its text and its moderation note cut to size."""
    text = clean_text(output.text) if isinstance(output.text, str) else output.text
    reason = output.moderation[:MAX_MODERATION_CHARS] if output.moderation else None
    return NewOutput(**{**vars(output), "text": text, "moderation": reason})


def check_request_fields(modality: str, prompt: str) -> None:
    """A request's own checks, before it has outputs: a known modality and a usable prompt."""
    if modality not in MODALITIES:
        raise InvalidInputError(f"unknown modality {modality!r}; use one of {MODALITIES}")
    if not isinstance(prompt, str):
        raise InvalidInputError("the prompt must be text")
    if not prompt or not prompt.strip():
        raise InvalidInputError("the prompt is empty")
    if len(prompt) > MAX_PROMPT_CHARS:
        raise InvalidInputError(f"the prompt is longer than {MAX_PROMPT_CHARS} characters")


def check_outputs(outputs: list[NewOutput]) -> None:
    """A request's outputs: at least one, unique indices, each with content and a known finish reason."""
    if not outputs:
        raise InvalidInputError("a request needs at least one output")
    if len({o.index for o in outputs}) != len(outputs):
        raise InvalidInputError("output indices must be unique within a request")
    for output in outputs:
        check_output(output)


def check_output(output: NewOutput) -> None:
    """One output's own checks: it has content and a known finish reason."""
    if output.text is None and output.image_path is None:
        raise InvalidInputError(f"output {output.index} has neither text nor an image")
    if output.finish_reason not in FINISH_REASONS:
        raise InvalidInputError(f"unknown finish reason {output.finish_reason!r}")
    for name in ("confidence_mean", "confidence_min"):
        value = getattr(output, name)
        if value is not None and not (isinstance(value, int | float) and 0.0 <= value <= 1.0):
            raise InvalidInputError(f"output {output.index}: {name} must be a probability from 0 to 1, got {value!r}")


class RatingFields(TypedDict, total=False):
    """The fields of one rating a call may set; a field left out keeps its stored value."""

    naturalness: int | None
    reliability: int | None
    thumbs: int | None
    comment: str | None
    reason: str | None


def upsert_rating(session: Session, *, output_id: int, rater_id: int, source: str, **fields: Unpack[RatingFields]) -> Rating:
    """Create or update the one rating of `rater_id` for `output_id`; fields not given stay as they are."""
    # 1. The referenced rows must exist (a clear error instead of a foreign-key failure).
    _require(session, Output, output_id, "output")
    _require(session, User, rater_id, "user")
    # 2. One statement that inserts or updates, so concurrent raters never race.
    save_rating(session, output_id=output_id, rater_id=rater_id, source=source, **fields)
    return session.scalars(
        select(Rating).where(Rating.output_id == output_id, Rating.rater_id == rater_id).execution_options(populate_existing=True)
    ).one()


def save_rating(session: Session, *, output_id: int, rater_id: int, source: str, **fields: Unpack[RatingFields]) -> None:
    """`upsert_rating` in one statement, for callers that know the output and rater exist.

    The app checks them (and that the rater owns the output) in a read before its write
    transaction: on SQLite the write holds the database's only write lock, so under load every
    statement in it is one more wait for every other rater.
    """
    # 1. Validate every given value before touching the database.
    changes = rating_changes(source, **fields)
    # 2. One statement that inserts or updates, so concurrent raters never race.
    _upsert(session, Rating, key={"output_id": output_id, "rater_id": rater_id}, changes=changes)


def rating_changes(source: str, **fields: Unpack[RatingFields]) -> dict[str, Any]:
    """The columns a rating write sets: its given fields, checked and cleaned, and its source.
    Raises InvalidInputError (or TypeError for a field a rating does not have) before anything
    is written."""
    if unknown := set(fields) - set(RatingFields.__annotations__):
        raise TypeError(f"a rating has no field {sorted(unknown)[0]!r}")
    naturalness = fields.get("naturalness", UNSET)
    reliability = fields.get("reliability", UNSET)
    thumbs = fields.get("thumbs", UNSET)
    comment = fields.get("comment", UNSET)
    reason = fields.get("reason", UNSET)
    _check_source(source)
    _check_score("naturalness", naturalness)
    _check_score("reliability", reliability)
    if thumbs not in (UNSET, None, -1, 1):
        raise InvalidInputError(f"thumbs must be -1 or 1, got {thumbs!r}")
    _check_text("comment", comment, MAX_COMMENT_CHARS)
    if isinstance(comment, str):
        comment = clean_text(comment)
    _check_text("reason", reason, MAX_REASON_CHARS)
    if isinstance(reason, str):
        reason = clean_text(reason)
    changes = _given(naturalness=naturalness, reliability=reliability, thumbs=thumbs, comment=comment, reason=reason)
    return {**changes, "source": source}


def upsert_set_rating(
    session: Session,
    *,
    request_id: int,
    rater_id: int,
    source: str,
    diversity: int | None | _Unset = UNSET,
    best_output_id: int | None | _Unset = UNSET,
) -> SetRating:
    """Create or update the rater's diversity score and best pick for a request's candidates."""
    _check_source(source)
    _check_score("diversity", diversity)
    _require(session, Request, request_id, "request")
    _require(session, User, rater_id, "user")
    if best_output_id not in (UNSET, None):
        best = session.get(Output, best_output_id)
        if best is None or best.request_id != request_id:
            raise UnknownIdError(f"output {best_output_id} is not a candidate of request {request_id}")
    changes = _given(diversity=diversity, best_output_id=best_output_id)
    _upsert(
        session,
        SetRating,
        key={"request_id": request_id, "rater_id": rater_id},
        changes={**changes, "source": source},
    )
    return session.scalars(
        select(SetRating)
        .where(SetRating.request_id == request_id, SetRating.rater_id == rater_id)
        .execution_options(populate_existing=True)
    ).one()


def set_flag(session: Session, *, output_id: int, rater_id: int, flagged: bool, reason: str | None = None) -> bool:
    """Flag (or unflag) an output for this rater; flagged outputs never become training data.

    `reason` replaces the flag's reason; None keeps it (a new flag's reason is "harmful")."""
    _check_text("reason", reason, MAX_REASON_CHARS)
    _require(session, Output, output_id, "output")
    _require(session, User, rater_id, "user")
    existing = session.scalar(select(Flag).where(Flag.output_id == output_id, Flag.rater_id == rater_id))
    if flagged and existing is None:
        session.add(Flag(output_id=output_id, rater_id=rater_id, reason=clean_text(reason or DEFAULT_FLAG_REASON)))
    elif flagged and existing is not None and reason is not None:
        existing.reason = clean_text(reason)
    elif not flagged and existing is not None:
        session.delete(existing)
    session.flush()
    return flagged


def _given(**fields: Any) -> dict[str, Any]:
    return {name: value for name, value in fields.items() if value is not UNSET}


def _check_source(source: str) -> None:
    if source not in RATING_SOURCES:
        raise InvalidInputError(f"unknown rating source {source!r}; use one of {RATING_SOURCES}")


def _check_score(name: str, value: object) -> None:
    if value is UNSET or value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int) or not SCORE_MIN <= value <= SCORE_MAX:
        raise InvalidInputError(f"{name} must be a whole number from {SCORE_MIN} to {SCORE_MAX}, got {value!r}")


def _check_text(what: str, value: object, limit: int) -> None:
    """A comment or a reason: text of at most `limit` characters (UNSET and None pass)."""
    if value is UNSET or value is None:
        return
    if not isinstance(value, str):
        raise InvalidInputError(f"a {what} must be text")
    if len(value) > limit:
        raise InvalidInputError(f"a {what} is limited to {limit} characters")


def _require(session: Session, model: type, row_id: int, what: str) -> None:
    if session.get(model, row_id) is None:
        raise UnknownIdError(f"{what} {row_id} does not exist")


def _upsert(session: Session, model: type, *, key: dict[str, Any], changes: dict[str, Any]) -> None:
    """INSERT ... ON CONFLICT DO UPDATE where the dialect has it, else select-then-write."""
    now = utcnow()
    insert = _native_insert(session)
    if insert is not None:
        statement = insert(model).values(**key, **changes, created_at=now, updated_at=now)
        statement = statement.on_conflict_do_update(index_elements=list(key), set_={**changes, "updated_at": now})
        session.execute(statement)
        return
    row = session.scalar(select(model).filter_by(**key).with_for_update())
    if row is None:
        session.add(model(**key, **changes, created_at=now, updated_at=now))
    else:
        for name, value in {**changes, "updated_at": now}.items():
            setattr(row, name, value)
    session.flush()


def upsert_ratings(session: Session, ratings: dict[tuple[int, int], dict[str, Any]]) -> None:
    """Upsert each (output_id, rater_id) -> columns (`rating_changes`, already checked): one
    statement per set of columns, its rows sent together. One compiled statement with bound
    rows, not a statement per rating: building and caching each rating's own INSERT was most
    of the rating writer's time under 50 raters (docs/PERFORMANCE.md, "Rating over plain
    HTTP"). Dialects without ON CONFLICT: `_upsert` each."""
    insert = _native_insert(session)
    if insert is None:
        for (output_id, rater_id), changes in ratings.items():
            _upsert(session, Rating, key={"output_id": output_id, "rater_id": rater_id}, changes=changes)
        return
    now = utcnow()
    by_columns: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for (output_id, rater_id), changes in ratings.items():
        row = {"output_id": output_id, "rater_id": rater_id, **changes, "created_at": now, "updated_at": now}
        by_columns.setdefault(tuple(sorted(changes)), []).append(row)
    connection = session.connection()  # Core, not ORM DML: no per-row ORM bookkeeping
    for columns, rows in by_columns.items():
        connection.execute(_rating_upsert(connection.dialect.name, columns), rows)


@functools.cache
def _rating_upsert(dialect: str, columns: tuple[str, ...]) -> Executable:
    """The ratings upsert that sets `columns`, built once per dialect and set of columns (a few
    dozen at most): building it, its `excluded` alias and its cache key per batch was a sixth
    of the rating writer's time (docs/PERFORMANCE.md, "Rating over plain HTTP")."""
    statement = NATIVE_INSERTS[dialect](cast(Table, Rating.__table__))
    excluded = statement.excluded
    upsert: Executable = statement.on_conflict_do_update(
        index_elements=["output_id", "rater_id"],
        set_={**{name: excluded[name] for name in columns}, "updated_at": excluded.updated_at},
    )
    return upsert


def _native_insert(session: Session) -> Callable[..., Any] | None:
    """The dialect's INSERT with ON CONFLICT (SQLite, PostgreSQL), or None."""
    return NATIVE_INSERTS.get(session.get_bind().dialect.name)
