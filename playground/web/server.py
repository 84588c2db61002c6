"""How the app is served: the ASGI layers around Gradio, and which proxies uvicorn believes.

The layers, outermost first (each in its own module, docs/SECURITY.md):
1. OriginMiddleware (playground/web/origins.py) - outside Gradio's own CORS middleware, so its
   word on Access-Control-* headers is the last one.
2. Gradio's middleware (Brotli, CORS) - Gradio adds it in front of every user middleware.
3. GuardMiddleware (playground/web/guard.py) - draining, body limits, the identity cookie.
4. SessionBindingMiddleware (playground/web/sessions.py) - a session_hash stays with its cookie.

Gradio puts its own middleware in front of everything passed through `app_kwargs`, so (1) is
added by an App subclass that wraps the finished middleware stack, handed to Blocks.launch as
`_app` - the hook gradio.Server uses for its own App. Blocks.launch configures that App just as
the one it would have made (routes, lifespan, Gradio's middleware).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import gradio as gr
from fastapi import APIRouter
from gradio.routes import App, ORJSONResponse
from starlette.middleware import Middleware
from starlette.types import ASGIApp

from playground.core.settings import Settings
from playground.web.guard import GuardMiddleware, GuardState
from playground.web.origins import OriginMiddleware, OriginPolicy
from playground.web.session_state import LazyStateHolder
from playground.web.sessions import SessionBindingMiddleware, SessionOwners

FORWARDED_ALLOW_IPS = "FORWARDED_ALLOW_IPS"
STOP_EVENT_TIMEOUT_S = 5.0
_environment_lock = threading.Lock()


class GuardedApp(App):
    """Gradio's App with OriginMiddleware around the whole middleware stack, whose sessions build
    their components' configs only when needed (playground/web/session_state.py)."""

    def __init__(self, *, origins: OriginPolicy, **kwargs: Any):
        super().__init__(**kwargs)
        self.origins = origins
        self.state_holder = LazyStateHolder()  # before Blocks.launch hands it the Blocks

    def build_middleware_stack(self) -> ASGIApp:
        return OriginMiddleware(super().build_middleware_stack(), self.origins)


def server_app(settings: Settings, guard: GuardState | None = None, router: APIRouter | None = None) -> GuardedApp:
    """A fresh App for one Blocks.launch (an App cannot take middleware once it has served),
    with `router`'s plain HTTP routes, added before Gradio's so that they are matched first."""
    middleware = [
        Middleware(
            GuardMiddleware, max_body_bytes=settings.max_request_bytes, state=guard or GuardState(), secure_cookie=settings.secure_cookie
        ),
        Middleware(SessionBindingMiddleware, owners=SessionOwners()),
    ]
    # What Gradio's App.create_app passes when it makes the App itself.
    app = GuardedApp(origins=OriginPolicy.from_settings(settings), middleware=middleware, default_response_class=ORJSONResponse)
    if router is not None:
        app.include_router(router)
    return app


def uvicorn_trusted_proxies(settings: Settings) -> str:
    """uvicorn's `forwarded_allow_ips` for these settings; "" trusts no peer (uvicorn never
    matches an empty entry), so X-Forwarded-For and -Proto are then never read."""
    return ",".join(settings.trusted_proxies) if settings.trust_forwarded_for else ""


@contextmanager
def uvicorn_proxy_trust(settings: Settings) -> Iterator[None]:
    """Pin the peers whose X-Forwarded-For/-Proto uvicorn believes, for a Blocks.launch inside.

    Gradio builds `uvicorn.Config` itself (gradio/http_server.py) and passes neither
    `proxy_headers` nor `forwarded_allow_ips`, so uvicorn's defaults would apply: its
    ProxyHeadersMiddleware rewrites scope["client"] from X-Forwarded-For for any peer in
    $FORWARDED_ALLOW_IPS, by default 127.0.0.1 and ::1 - with no proxy, any local client could name
    its own address and leave the per-address log-in lockout. That happens before any middleware
    of ours runs, so it cannot be undone there; and behind a trusted proxy it is what we want
    (the right-most hop that is not a trusted proxy, never the client-written left-most one).
    uvicorn reads the variable only in Config.__init__, which Blocks.launch runs in the calling
    thread, so it is set for the launch and restored afterwards; `check_proxy_trust` verifies it.
    """
    with _environment_lock:
        previous = os.environ.get(FORWARDED_ALLOW_IPS)
        os.environ[FORWARDED_ALLOW_IPS] = uvicorn_trusted_proxies(settings)
        try:
            yield
        finally:
            if previous is None:
                os.environ.pop(FORWARDED_ALLOW_IPS, None)
            else:
                os.environ[FORWARDED_ALLOW_IPS] = previous


def check_proxy_trust(app: gr.Blocks, settings: Settings) -> None:
    """Stop the server if uvicorn did not take the pinned trust (a Gradio or uvicorn upgrade
    that builds its Config elsewhere): serving with uvicorn's defaults would believe any local
    client's X-Forwarded-For."""
    config = app.server.config
    expected = uvicorn_trusted_proxies(settings)
    if not config.proxy_headers:
        return  # uvicorn reads no proxy header at all
    if config.forwarded_allow_ips != expected:
        close_app(app)
        raise RuntimeError(
            f"uvicorn trusts X-Forwarded-For from {config.forwarded_allow_ips!r}, not "
            f"{expected!r} as PLAYGROUND_TRUST_FORWARDED_FOR and PLAYGROUND_FORWARDED_ALLOW_IPS say"
        )


def close_app(app: gr.Blocks) -> None:
    """`app.close()`, with the served App's stop event set first on the event loop's own thread.

    Gradio's close() sets that asyncio.Event from the calling thread; when a heartbeat stream
    starts waiting on it at that moment, the loop's thread changes the event's waiters while
    close() walks them ("RuntimeError: deque mutated during iteration"). Set on its own loop,
    the event is already set when close() comes to it, and close() leaves it alone.
    """
    served = getattr(app, "app", None)  # the App whose stop event close() sets; None: never launched
    event = served.stop_event if served is not None else None
    loop = getattr(event, "_loop", None)  # the loop a waiter bound it to; None: no waiter yet
    if event is not None and loop is not None and loop.is_running() and not event.is_set():
        done = threading.Event()

        def set_on_its_loop() -> None:
            event.set()
            done.set()

        loop.call_soon_threadsafe(set_on_its_loop)
        done.wait(STOP_EVENT_TIMEOUT_S)
    app.close()
