"""Plain words for what the models and the database report (no "length"/"stop" jargon)."""

from __future__ import annotations

FINISH_WORDS = {
    "stop": "finished",
    "length": "stopped at the length limit",
    "cancelled": "stopped by you",
}


def finish_words(reason: str) -> str:
    return FINISH_WORDS.get(reason, reason)


def plural(count: int, singular: str, plural_form: str | None = None) -> str:
    """`1 request`, `2 requests`, `0 requests`."""
    return f"{count} {singular if count == 1 else (plural_form or singular + 's')}"
