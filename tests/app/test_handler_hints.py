"""Every event handler's annotations resolve at run time.

Gradio finds the `gr.Request` parameter of a handler with `typing.get_type_hints`; when one
annotation names something that cannot be resolved (a type imported only for the checker, say),
it quietly stops passing the request, and the handler then fails or, worse, sees no caller.
"""

from __future__ import annotations

import inspect
import typing

import gradio as gr

from playground.web.app import build_app


def test_every_handler_annotation_resolves_and_request_parameters_are_seen(context):
    app = build_app(context)
    functions = [block_fn.fn for block_fn in app.fns.values() if block_fn.fn is not None]
    assert len(functions) > 100  # the seven tabs' events, not a stub
    unresolved, with_request = [], 0
    for fn in functions:
        try:
            hints = typing.get_type_hints(fn)
        except Exception as error:  # noqa: BLE001 - the point is to list every failure
            unresolved.append(f"{fn.__qualname__}: {error}")
            continue
        with_request += any(hint is gr.Request for hint in hints.values())
        named = [p for p in inspect.signature(fn).parameters if p == "request"]
        if named and hints.get("request") is not gr.Request:
            unresolved.append(f"{fn.__qualname__}: `request` is not annotated gr.Request")
    assert not unresolved, unresolved
    assert with_request > 100, with_request
