"""The one input cleaning for every stored text: control characters never reach the database.

NUL breaks PostgreSQL text columns outright (the driver refuses the whole statement) and the
other C0/C1 controls break terminals, CSV tools and log viewers downstream. Tab, LF and CR are
kept: they are ordinary text in prompts and comments.

The cleaning runs in two places. `clean_text` is called where input is validated and shown
(lengths are checked and screens rendered on the cleaned text). The column types below apply it
again to every value bound to a column - ORM flushes, Core inserts and updates, upserts, and the
parameters of WHERE clauses alike - so a writer that forgets to call it (the arena once did)
still stores clean text. Cleaning is idempotent, so the second pass costs nothing but a scan.
"""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import JSON, String, Text
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator

# C0 controls except tab, newline and carriage return; DEL; C1 controls.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


def clean_text(text: str) -> str:
    """`text` without control characters (tab and line breaks are kept)."""
    return _CONTROL.sub("", text)


def clean_json(value: Any) -> Any:
    """A JSON-able value with `clean_text` applied to every string in it, keys included."""
    if isinstance(value, str):
        return clean_text(value)
    if isinstance(value, dict):
        return {clean_text(str(k)): clean_json(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [clean_json(v) for v in value]
    return value


def _clean_if_text(value: Any) -> Any:
    # Non-text values pass untouched so the driver reports a wrong type as it always did.
    return clean_text(value) if isinstance(value, str) else value


class CleanString(TypeDecorator[str]):
    """VARCHAR(length) that stores its values through `clean_text`.

    Migrations and the drift check see plain String (feedback_db/migrations/env.py).
    """

    impl = String
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        return _clean_if_text(value)

    def process_literal_param(self, value: Any, dialect: Dialect) -> Any:
        return _clean_if_text(value)


class CleanText(TypeDecorator[str]):
    """TEXT that stores its values through `clean_text`."""

    impl = Text
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        return _clean_if_text(value)

    def process_literal_param(self, value: Any, dialect: Dialect) -> Any:
        return _clean_if_text(value)


class CleanJSON(TypeDecorator[Any]):
    """JSON whose strings (values and keys, at any depth) are stored through `clean_text`."""

    impl = JSON
    cache_ok = True
    # As JSON itself: a Python None reaches the type (and is stored as JSON null), not skipped.
    should_evaluate_none = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        return clean_json(value)
