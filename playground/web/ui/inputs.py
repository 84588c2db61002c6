"""Small shared input widgets: the seed box (blank means random) and its parser."""

from __future__ import annotations

import gradio as gr

from models.base import InvalidParameterError

MAX_SEED = 2**32 - 1


def seed_box(kind: str, info: str) -> gr.Textbox:
    """A text box, not gr.Number: Gradio's Number shows 0 for an empty value, and 0 would
    then be sent as a fixed seed on every request. Blank stays blank and means random."""
    return gr.Textbox(
        None,
        label="Seed",
        info=info,
        placeholder="random",
        lines=1,
        max_lines=1,
        elem_id=f"{kind}-seed",
    )


def parse_seed(value: str | float | int | None) -> int | None:
    """Blank -> None (random); a whole number 0..2**32-1 -> int; anything else -> a clear error."""
    text = str(value).strip() if value is not None else ""
    if not text:
        return None
    try:
        number = float(text)
    except ValueError:
        raise InvalidParameterError(f"the seed must be a whole number or blank (random), got {text[:40]!r}") from None
    if not number.is_integer() or not 0 <= number <= MAX_SEED:
        raise InvalidParameterError(f"the seed must be a whole number from 0 to {MAX_SEED} or blank (random), got {text[:40]!r}")
    return int(number)
