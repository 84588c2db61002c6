"""Blocks that refuse bad API input by naming the field and what it accepts, in one log line.

Gradio checks values in each component's `preprocess` and answers what it cannot take with its
internals: "Could not preprocess input component at index 3 (a `slider` component) ...
TypeError: '<' not supported between instances of 'str' and 'int'" for a temperature "nan",
"Value: 513 is not in the list of choices" without saying which list, a `repr` of every input
component ("<gradio.components.state.State object at 0x...>") when a call sends too few values,
and a traceback in the log for each. Every endpoint is public (gradio_client, raw HTTP), so the
checks below run first, for every event, and say "Temperature must be a number from 0.1 to 2,
got 'nan'". They only refuse (or read a number sent as text); they never round or wrap, which
stays the handlers' rule (playground/web/ui/values.py).

A subclass of Blocks, not of the components: the browser loads a component's code by its class
name, and a subclassed component would be fetched as a custom component.
"""

from __future__ import annotations

import logging
from typing import Any

import gradio as gr
from fastapi import APIRouter
from gradio.exceptions import ComponentProcessingError

from feedback_db.errors import InvalidInputError
from playground.web.ui.values import number as finite_number

log = logging.getLogger("playground.web.ui")
REFUSED_TITLE = "Invalid input"
SHOWN_CHARS = 40  # of a refused value, in the message


class CheckedBlocks(gr.Blocks):
    """`gr.Blocks` whose input checks speak the user's language (see the module docstring)."""

    # Plain HTTP routes served beside the Blocks (playground/web/rating_route.py), added to the
    # App that `start` launches; None: Gradio's routes only.
    api_router: APIRouter | None = None

    async def preprocess_data(self, block_fn: Any, inputs: list[Any], state: Any, explicit_call: bool = False) -> Any:
        # 1. The count, then each value against its component, before Gradio's own preprocessing.
        _check_count(block_fn, inputs)
        checked = list(inputs)
        for index, block in enumerate(block_fn.inputs):
            if block.stateful or index in block_fn.component_prop_inputs:
                continue  # server-side state, or a property update: not a value a client chose
            if state is not None and block._id in state:
                block = state[block._id]  # this session's copy (choices updated by an event)
            checked[index] = checked_value(block, _label(block, index), checked[index])
        # 2. Whatever Gradio still refuses is named by field, never by its internals.
        try:
            return await super().preprocess_data(block_fn, checked, state, explicit_call)
        except gr.Error as error:
            raise refused(str(error.message)) from error
        except ComponentProcessingError as error:
            raise refused(f"{_endpoint(block_fn)}: a value was not accepted; see /gradio_api/info for the types.") from error


def _check_count(block_fn: Any, inputs: list[Any]) -> None:
    """Too few values: say how many this endpoint takes and which, without object reprs (Gradio's
    own count check, run next, then always passes)."""
    if len(inputs) < len(block_fn.inputs):
        wanted = [_label(block, i) for i, block in enumerate(block_fn.inputs) if not block.skip_api]
        raise refused(f"{_endpoint(block_fn)} takes {len(wanted)} value(s) ({', '.join(wanted)}); got {len(inputs)}.")


def refused(message: str) -> gr.Error:
    """A refusal: one log line (no traceback), HTTP 422 on the direct routes (web_guard.py)."""
    log.info("refused input: %s", message)
    return gr.Error(message, title=REFUSED_TITLE, print_exception=False)


def checked_value(block: Any, label: str, value: Any) -> Any:
    """`value` if `block` can take it (a number sent as text becomes the number); else refused."""
    if isinstance(block, gr.Slider | gr.Number):
        return _checked_number(block, label, value)
    if isinstance(block, gr.Radio | gr.Dropdown) and not getattr(block, "allow_custom_value", False):
        if getattr(block, "multiselect", False):
            return _checked_list(block, label, value)
        return _checked_choice(block, label, value)
    if isinstance(block, gr.CheckboxGroup):
        return _checked_list(block, label, value)
    if isinstance(block, gr.Checkbox) and value is not None and not isinstance(value, bool):
        raise refused(f"{label} must be true or false, got {_shown(value)}")
    if isinstance(block, gr.Textbox) and isinstance(value, list | dict):
        raise refused(f"{label} must be text, got {_shown(value)}")  # a number is read as its text
    return value


def _checked_number(block: Any, label: str, value: Any) -> Any:
    low, high = block.minimum, block.maximum
    if isinstance(block, gr.Number) and low is None and high is None:
        return value  # an open Number: its handler checks it in its own words (ui/values.py)
    allowed = f"a number from {_plain(low)} to {_plain(high)}" if low is not None and high is not None else "a number"
    if value is None or (isinstance(value, str) and not value.strip()):
        if isinstance(block, gr.Number):
            return None  # a blank Number means "unchanged" or "missing": the handler decides
        raise refused(f"{label} must be {allowed}, got nothing")
    try:
        number = finite_number(label, value)  # refuses bools, non-numbers, NaN and infinities
    except InvalidInputError:
        raise refused(f"{label} must be {allowed}, got {_shown(value)}") from None
    if (low is not None and number < low) or (high is not None and number > high):
        raise refused(f"{label} must be {allowed}, got {_shown(value)}")
    return number if isinstance(value, str) else value


def _checked_choice(block: Any, label: str, value: Any) -> Any:
    values = [choice for _, choice in block.choices]
    if value is None or value in values or (isinstance(value, str) and value.strip() in map(str, values)):
        return value  # a choice's text ("256") is read by the typed choices (ui/typed_choices.py)
    raise refused(f"{label} must be one of {', '.join(map(str, values))}; got {_shown(value)}")


def _checked_list(block: Any, label: str, value: Any) -> Any:
    values = [choice for _, choice in block.choices]
    if value is None:
        return value
    if not isinstance(value, list) or any(item not in values for item in value):
        raise refused(f"{label} must be a list of: {', '.join(map(str, values))}; got {_shown(value)}")
    return value


def _label(block: Any, index: int) -> str:
    label = getattr(block, "label", None)
    return str(label) if label else f"value {index + 1}"


def _endpoint(block_fn: Any) -> str:
    name = getattr(block_fn, "api_name", None)
    return f"/{name}" if isinstance(name, str) and name else "This event"


def _plain(number: float | int) -> str:
    return str(int(number)) if float(number).is_integer() else str(number)


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= SHOWN_CHARS else text[: SHOWN_CHARS - 1] + "…"
