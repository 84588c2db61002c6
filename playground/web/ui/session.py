"""Who is calling: the client behind an event (cookie hash and address), and Stop per client.

Handlers take `request: gr.Request` and ask `client_of` for the caller; nothing here trusts
Gradio's session_hash, which the browser makes and sends in query strings.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from typing import Any

import gradio as gr
from gradio.blocks import Block
from gradio.events import Dependency

from playground.core.secret_key import new_token, token_hash
from playground.services.identity import Client, Viewer, find_viewer
from playground.serving.context import AppContext
from playground.web.guard import client_token_from_cookie_header


def client_of(context: AppContext, request: gr.Request | None) -> Client:
    """The caller's identity key and address. A caller without our cookie (it never passed the
    guard, e.g. a raw HTTP client that drops cookies) gets a one-off key: it can generate, but
    nothing ties its next call to this one."""
    headers = dict(request.headers) if request is not None else {}
    token = client_token_from_cookie_header(headers.get("cookie")) or new_token()
    return Client(
        key=token_hash(context.secret, "browser", token),
        login_key=token_hash(context.secret, "login", token),
        ip=_address(request),
    )


def viewer_of(context: AppContext, request: gr.Request | None) -> Viewer | None:
    """The end user behind the caller's cookie, or None if they have not generated anything yet."""
    return find_viewer(context.database, client_of(context, request).key)


def _address(request: gr.Request | None) -> str:
    """The address uvicorn reports: the TCP peer, or behind a proxy of PLAYGROUND_FORWARDED_ALLOW_IPS
    (with PLAYGROUND_TRUST_FORWARDED_FOR) the right-most X-Forwarded-For hop that is not one
    (playground/web/server.py). Never a header read here: its left-most entry is whatever the
    client wrote, so it would let anyone pick a fresh address for each log-in attempt."""
    client = getattr(request, "client", None) if request is not None else None
    return str(getattr(client, "host", None) or "unknown")


def wire_identity(app: gr.Blocks, context: AppContext) -> gr.State:
    """A per-page viewer state, filled on load from the cookie (never created by a page view).

    The Text and Image tabs read the cookie on every event instead; this state is for
    components that only display who is here.
    """
    viewer = gr.State(None)

    def restore(request: gr.Request) -> Viewer | None:
        return viewer_of(context, request)

    app.load(restore, None, viewer, api_visibility="private", queue=False)
    app.unload(forget_client_handler(context))
    return viewer


def forget_client_handler(context: AppContext) -> Callable[[gr.Request], None]:
    """For the page's unload (Gradio runs it when the page's heartbeat ends: closed or reloaded):
    drop the client's Stop signal and click time, unless a generation still holds the signal."""

    def forget(request: gr.Request) -> None:
        key = client_of(context, request).key
        context.stops.forget(key)
        context.clicks.forget(key)

    return forget


def _stop_key(who: Viewer | Client | str) -> str:
    if isinstance(who, Viewer):
        return who.browser_session
    return who.key if isinstance(who, Client) else who


def clear_stop(context: AppContext, who: Viewer | Client | str | None) -> None:
    """Runs un-queued right when Generate is clicked, so an old Stop does not stop the new run."""
    if who is not None:
        context.stops.event(_stop_key(who)).clear()


def request_stop(context: AppContext, who: Viewer | Client | str | None) -> str:
    """Ask this client's running (or queued) generation to stop after the current step."""
    if who is not None:
        context.stops.event(_stop_key(who)).set()
    return "Stopping…"


def clear_stop_handler(context: AppContext) -> Callable[[gr.Request], None]:
    """For Generate's un-queued first step: clear an old Stop of this client, and note the click
    time (the card's time to first token counts from it, queue and model loading included)."""

    def clear(request: gr.Request) -> None:
        client = client_of(context, request)
        context.clicks.mark(client.key)
        clear_stop(context, client)

    return clear


def wire_stop(
    context: AppContext, triggers: list[Callable[..., Dependency]], stop_button: gr.Button, status: gr.Markdown, api_name: str
) -> list[Dependency]:
    """Clear an old Stop when a generation is triggered; the Stop button, per client.
    Returns the clearing events, for `.then(generate)`."""

    def stop(request: gr.Request) -> str:
        return request_stop(context, client_of(context, request))

    stop_button.click(stop, None, status, queue=False, api_name=api_name)
    return [trigger(clear_stop_handler(context), None, None, queue=False, api_visibility="private") for trigger in triggers]


def unless_stopped(
    context: AppContext,
    who: Viewer | Client | str,
    stopped: dict[Block, Any],
    run: Callable[[threading.Event], Iterator[dict[Block, Any]]],
) -> Iterator[dict[Block, Any]]:
    """Run a generation with this client's stop event, unless Stop came while it was queued.

    The event is cleared when the run ends, so a Stop never leaks into the next request.
    """
    with context.stops.held(_stop_key(who)) as cancel:
        if cancel.is_set():
            cancel.clear()
            yield stopped
            return
        try:
            yield from run(cancel)
        finally:
            cancel.clear()
