"""Plain words for what the models and the database report (no "length"/"stop" jargon)."""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime

from feedback_db.activity import FeedbackCounts

FINISH_WORDS = {
    "stop": "finished",
    "length": "cut at the length limit",
    "cancelled": "stopped by you",
}


# A link to the Guidelines tab in a Markdown message (assets/playground.js opens the tab).
GUIDELINES_LINK = "[Guidelines](#guidelines)"


def finish_words(reason: str) -> str:
    return FINISH_WORDS.get(reason, reason)


# How a request ended (feedback_db/open_requests.py); a finished one needs no word.
REQUEST_STATUS_WORDS = {
    "running": "not finished (still generating, or the server stopped)",
    "stopped": "stopped by you",
    "interrupted": "interrupted (the page was left before it finished)",
}


def request_status_words(status: str) -> str:
    """`stopped by you`, ..., or "" for a finished request."""
    return REQUEST_STATUS_WORDS.get(status, "")


def answered_by(model_version: str, personal: bool, markdown: bool = True) -> str:
    """The version that answered a stored request: "your version `text-p-...`" when it was the
    viewer's own personal version, else "version `text-v3`" (plain text: no backticks)."""
    name = f"`{model_version}`" if markdown else model_version
    return f"your version {name}" if personal else f"version {name}"


def plural(count: int, singular: str, plural_form: str | None = None) -> str:
    """`1 request`, `2 requests`, `0 requests`."""
    return f"{count} {singular if count == 1 else (plural_form or singular + 's')}"


def counts_words(counts: FeedbackCounts) -> str:
    """`2 rated outputs, 4 scores`: the same words wherever the page counts feedback
    (feedback_db/activity.py defines both counts)."""
    return f"{plural(counts.rated_outputs, 'rated output')}, {plural(counts.scores, 'score')}"


def short_time(value: datetime, now: datetime | None = None) -> str:
    """`2 Dec 16:07` in UTC (the year only when it is not this one): a stored time as a table shows it.

    A time without a zone is UTC (SQLite drops the zone); the reader is told so by the column's name."""
    value = (value if value.tzinfo else value.replace(tzinfo=UTC)).astimezone(UTC)
    year = "" if value.year == (now or datetime.now(UTC)).year else f" {value.year}"
    return f"{value.day} {value:%b}{year} {value:%H:%M}"


_MARKDOWN_PUNCTUATION = re.compile(r"([\\`*_{}\[\]()#+\-.!|~>])")


def literal_markdown(text: str) -> str:
    """`text` as a Markdown component shows it: every character as typed, none as markup.

    A reason the user typed, `<img src=x onerror=alert(2)>`, was echoed in the card's status line
    as a (sanitised) element; escaped, it reads as the text itself."""
    return _MARKDOWN_PUNCTUATION.sub(r"\\\1", html.escape(text, quote=False))


def saved_line(message: str) -> str:
    """A card's status line after a save: the service's message, shown literally."""
    return "✓ " + literal_markdown(message)
