"""Turning API values into checked numbers: refuse, never round or wrap.

Gradio hands handlers whatever a client sent (a Number with `precision=0` even rounds 3.5 to 4
before we see it), so handlers check values here and raise InvalidInputError with the range.
"""

from __future__ import annotations

import math
from typing import Any

from feedback_db.errors import InvalidInputError


def score_value(what: str, value: Any, *, low: int, high: int) -> int | None:
    """A whole number in [low, high] from an API value (int, integral float, or its text), or
    None for blank; anything else - 3.5, -1, "x", True - is refused, never rounded or wrapped."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    number: Any = value
    if isinstance(value, str):
        try:
            number = float(value.strip())
        except ValueError:
            number = None
    if (
        isinstance(number, bool)
        or not isinstance(number, int | float)
        or not math.isfinite(number)
        or number != int(number)
        or not low <= int(number) <= high
    ):
        raise InvalidInputError(f"{what} must be a whole number from {low} to {high}, got {value!r}")
    return int(number)


def whole(what: str, value: Any, low: int, high: int | None = None) -> int:
    """A required whole number >= low (and <= high when given)."""
    upper = high if high is not None else 2**63 - 1
    checked = score_value(what, value, low=low, high=upper)
    if checked is None:
        raise InvalidInputError(f"{what} is missing")
    return checked


def number(what: str, value: Any) -> float:
    """A required finite number (range checks belong to the parameter dataclasses)."""
    if isinstance(value, bool) or value is None:
        raise InvalidInputError(f"{what} must be a number, got {value!r}")
    try:
        result = float(value)
    except (TypeError, ValueError):
        raise InvalidInputError(f"{what} must be a number, got {value!r}") from None
    if not math.isfinite(result):
        raise InvalidInputError(f"{what} must be a finite number, got {value!r}")
    return result
