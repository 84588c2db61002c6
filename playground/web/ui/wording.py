"""Plain words for what the models and the database report (no "length"/"stop" jargon)."""

from __future__ import annotations

import html
import re

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


_MARKDOWN_PUNCTUATION = re.compile(r"([\\`*_{}\[\]()#+\-.!|~>])")


def literal_markdown(text: str) -> str:
    """`text` as a Markdown component shows it: every character as typed, none as markup.

    A reason the user typed, `<img src=x onerror=alert(2)>`, was echoed in the card's status line
    as a (sanitised) element; escaped, it reads as the text itself."""
    return _MARKDOWN_PUNCTUATION.sub(r"\\\1", html.escape(text, quote=False))


def saved_line(message: str) -> str:
    """A card's status line after a save: the service's message, shown literally."""
    return "✓ " + literal_markdown(message)
