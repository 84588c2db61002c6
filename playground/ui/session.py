"""Per-browser identity in the UI: a token in local storage, a Viewer in the session state."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator

import gradio as gr

from playground.context import AppContext
from playground.identity import Viewer, viewer_for_token

STORAGE_KEY = "playground-viewer"


def ensure_viewer(context: AppContext, viewer: Viewer | None) -> Viewer:
    """API clients never load the page, so a handler creates the identity if it is missing."""
    return viewer if viewer is not None else viewer_for_token(context.database, None)


def wire_identity(app: gr.Blocks, context: AppContext) -> gr.State:
    """On page load, restore (or create) the browser's identity; return the viewer state."""
    token = gr.BrowserState("", storage_key=STORAGE_KEY)
    viewer = gr.State(None)

    def restore(saved_token: str) -> tuple[str, Viewer]:
        restored = viewer_for_token(context.database, saved_token)
        return restored.browser_session, restored

    app.load(restore, token, [token, viewer], api_visibility="private", queue=False)
    return viewer


def clear_stop(context: AppContext, viewer: Viewer | None) -> None:
    """Runs un-queued right when Generate is clicked, so an old Stop does not stop the new run."""
    if viewer is not None:
        context.cancel_event(viewer.browser_session).clear()


def request_stop(context: AppContext, viewer: Viewer | None) -> str:
    """Ask this browser's running (or queued) generation to stop after the current step."""
    if viewer is not None:
        context.cancel_event(viewer.browser_session).set()
    return "Stopping…"


def unless_stopped(
    context: AppContext, viewer: Viewer, stopped: dict, run: Callable[[threading.Event], Iterator[dict]]
) -> Iterator[dict]:
    """Run a generation with this browser's stop event, unless Stop came while it was queued.

    The event is cleared when the run ends, so a Stop never leaks into the next request.
    """
    cancel = context.cancel_event(viewer.browser_session)
    if cancel.is_set():
        cancel.clear()
        yield stopped
        return
    try:
        yield from run(cancel)
    finally:
        cancel.clear()
