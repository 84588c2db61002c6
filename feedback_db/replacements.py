"""Regenerating one card: a new output takes an output's place in its request; the old one stays.

The schema: the new row's `outputs.replaces_output_id` names the output it replaced. An output is
*current* while no row replaces it; a request's cards are its current outputs. `outputs.index`
stays what it was, the order of creation within the request and unique in it: the first
candidates are 0..n-1 (card i is index i), a replacement takes the next free number. A card's
position is the index of the first output of its chain, so a replacement shows in its
predecessor's place.

Why a link rather than a slot number beside a creation order: the unique `replaces_output_id`
lets the database itself refuse a second replacement of one output (two racing clicks, two
replicas), "current" is one anti-join (`is_current`), and the old row, its ratings, flags and any
best pick naming it need no change at all. Replaced outputs keep their ratings as data (the
frames carry them, with a `replaced` column); the annotation queue and the history view show
only the current ones, and My history lists the replaced ones beside them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from sqlalchemy import ColumnElement, exists, func, select
from sqlalchemy.orm import Session, aliased

from feedback_db.errors import OutputReplacedError, UnknownIdError
from feedback_db.queries import NewOutput, check_output, cleaned_output
from feedback_db.schema import Output, Request


def is_current(output: type[Output] = Output) -> ColumnElement[bool]:
    """SQL: no output replaces this one (the entity or an alias)."""
    replacer = aliased(Output)
    return ~exists().where(replacer.replaces_output_id == output.id)


def card_positions(outputs: Sequence[Output]) -> dict[int, int]:
    """Output id -> the card it sits (or sat) in, 0-based, for all outputs of one request."""
    by_id = {o.id: o for o in outputs}
    positions: dict[int, int] = {}
    for output in sorted(outputs, key=lambda o: o.index):  # a replacement comes after what it replaced
        replaced = by_id.get(output.replaces_output_id) if output.replaces_output_id is not None else None
        positions[output.id] = positions[replaced.id] if replaced is not None else output.index
    return positions


def in_card_order(outputs: Sequence[Output]) -> list[Output]:
    """The current outputs of one request (all of its outputs given), ordered by card."""
    replaced = {o.replaces_output_id for o in outputs if o.replaces_output_id is not None}
    positions = card_positions(outputs)
    return sorted((o for o in outputs if o.id not in replaced), key=lambda o: positions[o.id])


def current_outputs(session: Session, *, request_id: int) -> list[Output]:
    """The request's cards: its current outputs, by card."""
    return in_card_order(session.scalars(select(Output).where(Output.request_id == request_id)).all())


def replaceable_output(session: Session, *, output_id: int, session_id: str) -> Output:
    """The output, if this browser session's request holds it and it is still current.

    Someone else's output is refused exactly like a missing one, so ids reveal nothing;
    OutputReplacedError if a newer output already holds its card."""
    output = session.get(Output, output_id)
    if output is None or output.request.session_id != session_id:
        raise UnknownIdError(f"output {output_id} is not one of this browser's candidates")
    if session.scalar(select(Output.id).where(Output.replaces_output_id == output_id)) is not None:
        raise OutputReplacedError("this candidate was already regenerated: regenerate the card's new candidate instead")
    return output


def replace_output(session: Session, *, output_id: int, session_id: str, output: NewOutput) -> Output:
    """Store `output` in the place of `output_id` in the same request (flushed, not committed).

    The new row takes the next index of the request; the old row stays as it is, with its ratings."""
    # 1. Lock the request (PostgreSQL; SQLite's BEGIN IMMEDIATE already serialises), then check
    #    again: the unique column would also refuse a second replacement, but with a less clear error.
    request_id = session.scalar(select(Output.request_id).where(Output.id == output_id))
    if request_id is not None:
        session.scalar(select(Request.id).where(Request.id == request_id).with_for_update())
    old = replaceable_output(session, output_id=output_id, session_id=session_id)
    # 2. The new output's own checks, as for a new request.
    output = cleaned_output(output)
    check_output(output)
    # 3. The next index of the request, and the link to the replaced output.
    next_index = (session.scalar(select(func.max(Output.index)).where(Output.request_id == old.request_id)) or 0) + 1
    row = Output(**vars(replace(output, index=next_index)), request_id=old.request_id, replaces_output_id=old.id)
    session.add(row)
    session.flush()
    return row
