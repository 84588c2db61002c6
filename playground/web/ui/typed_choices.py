"""Radio and Dropdown components whose integer choices keep their type in the API.

Gradio describes every Radio/Dropdown value as a string in the API schema, even integer
choices, and then refuses the strings. `TypedRadio` and `TypedDropdown` say the real type and
accept a choice sent as its text ("3" for 3).
"""

from __future__ import annotations

from types import MethodType
from typing import Any, cast

import gradio as gr


def _typed_api_info(self: Any) -> dict[str, Any]:
    values = [value for _, value in self.choices]
    integer = bool(values) and all(isinstance(v, int) and not isinstance(v, bool) for v in values)
    return {"type": "integer" if integer else "string", "enum": values, "title": type(self).__name__}


def _typed_preprocess(self: Any, payload: Any) -> Any:
    by_text = {str(value): value for _, value in self.choices}
    if isinstance(payload, str) and payload.strip() in by_text:
        payload = by_text[payload.strip()]
    return type(self).preprocess(self, payload)


def _typed(component: Any) -> Any:
    """Bound per instance, not subclassed: the browser loads a component's code by its class,
    and a subclass would be fetched as a custom component; bound methods follow the copies
    Gradio makes when choices are updated."""
    component.api_info = MethodType(_typed_api_info, component)
    component.preprocess = MethodType(_typed_preprocess, component)
    return component


def TypedRadio(*args: Any, **kwargs: Any) -> gr.Radio:  # noqa: N802 - used like a component class
    return cast(gr.Radio, _typed(gr.Radio(*args, **kwargs)))


def TypedDropdown(*args: Any, **kwargs: Any) -> gr.Dropdown:  # noqa: N802
    return cast(gr.Dropdown, _typed(gr.Dropdown(*args, **kwargs)))
