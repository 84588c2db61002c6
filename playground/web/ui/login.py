"""Annotator and admin log-in from a tab: throttled, and tied to the caller's cookie.

The Annotate and Insights tabs share it, so one log-in (one session row named by the keyed
hash of the browser's cookie token) serves both, and both are throttled the same way.
"""

from __future__ import annotations

from typing import Any, cast

import gradio as gr

from playground.core.errors import NotAllowedError
from playground.services.annotation import AnnotatorLogin, log_in, log_out
from playground.serving.context import AppContext
from playground.web.ui.session import client_of

# Log-in hashes passwords (argon2, ~50 ms of CPU each): a small pool of its own, so a flood of
# log-in attempts cannot slow down annotators who are already working. No progress overlay: a
# refused log-in must leave the form usable for the next try.
LOGIN_POOL: dict[str, Any] = {"concurrency_id": "login", "concurrency_limit": 2, "show_progress": "hidden"}


def log_in_client(context: AppContext, name: object, password: object, request: gr.Request | None) -> AnnotatorLogin:
    """Check the throttle, then the password; open a session under the caller's cookie."""
    client = client_of(context, request)
    name_text = name if isinstance(name, str) else ""
    context.login_throttle.check(name_text, client.ip)  # before any password is hashed
    try:
        # log_in refuses a password that is not a str itself (the API can send anything).
        user = log_in(context.database, name_text, cast(str, password), session_key=client.login_key)
    except NotAllowedError:
        context.login_throttle.failed(name_text, client.ip)
        raise
    context.login_throttle.succeeded(name_text)
    return user


def claimed_login(context: AppContext, request: gr.Request | None) -> AnnotatorLogin:
    """The log-in the caller's cookie names (every handler checks it against the database)."""
    return AnnotatorLogin.claimed(client_of(context, request).login_key)


def log_out_client(context: AppContext, request: gr.Request | None) -> None:
    log_out(context.database, claimed_login(context, request))
