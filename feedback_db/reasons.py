"""Why a candidate got a thumbs-down or a flag: a few fixed chips plus optional free text.

Stored as one readable text in the existing reason fields (`ratings.reason`, `flags.reason`), so
exports need no new columns: the chips first, comma-separated, then `: ` and the details, e.g.
`wrong, off-topic: the capital of France is Paris`. Free text without a chip is stored under
`other`. Markup is kept as plain text: it is shown as text everywhere it appears.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from feedback_db.errors import InvalidInputError

REASON_CHIPS = ("wrong", "unsafe", "off-topic", "incoherent", "other")
MAX_REASON_DETAIL_CHARS = 300  # chips + details stay well inside the 500-character columns
_SEPARATOR = ": "


@dataclass(frozen=True)
class Reason:
    chips: tuple[str, ...]
    detail: str = ""


def compose_reason(chips: Iterable[str] | None, detail: str | None) -> str | None:
    """The stored text for `chips` and `detail`, or None when both are empty.

    Unknown chips and over-long details are refused (InvalidInputError), never trimmed."""
    # 1. Chips: known ones only, each once, in the fixed order.
    given = list(chips or [])
    if not all(isinstance(chip, str) for chip in given):
        raise InvalidInputError("reasons must be text")
    unknown = sorted({chip for chip in given if chip not in REASON_CHIPS})
    if unknown:
        raise InvalidInputError(f"unknown reason {', '.join(map(repr, unknown))}; choose from {', '.join(REASON_CHIPS)}")
    ordered = [chip for chip in REASON_CHIPS if chip in given]
    # 2. Details: plain text, length-capped.
    if detail is not None and not isinstance(detail, str):
        raise InvalidInputError("the reason's details must be text")
    text = " ".join((detail or "").split())
    if len(text) > MAX_REASON_DETAIL_CHARS:
        raise InvalidInputError(f"the reason's details are limited to {MAX_REASON_DETAIL_CHARS} characters")
    if text and not ordered:
        ordered = ["other"]
    if not ordered:
        return None
    return ", ".join(ordered) + (_SEPARATOR + text if text else "")


def parse_reason(stored: str | None) -> Reason:
    """The chips and details of a stored reason; text from before the chips (e.g. "harmful")
    comes back as details."""
    if not stored:
        return Reason(())
    head, _, detail = stored.partition(_SEPARATOR)
    chips = tuple(part.strip() for part in head.split(","))
    if all(chip in REASON_CHIPS for chip in chips):
        return Reason(chips, detail)
    return Reason((), stored)
