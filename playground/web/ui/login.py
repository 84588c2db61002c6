"""Annotator and admin log-in from a tab: throttled, tied to the caller's cookie, one per page.

The Annotate and Insights tabs share it, so one log-in (one session row named by the keyed
hash of the browser's cookie token) serves both, and both are throttled the same way.
`PageLogin` makes every tab that shows the log-in show the same one: a log-in or log-out in one
tab, and every page load, make the others read the session again.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, cast

import gradio as gr
from gradio.blocks import Block
from gradio.events import Dependency

from playground.core.errors import NotAllowedError
from playground.services.annotation import ADMIN_ROLES, ANNOTATOR_ROLES, AnnotatorLogin, log_in, log_out, require_annotator
from playground.serving.context import AppContext
from playground.web.ui.session import client_of

# Log-in hashes passwords (argon2, ~50 ms of CPU each): a small pool of its own, so a flood of
# log-in attempts cannot slow down annotators who are already working. No progress overlay: a
# refused log-in must leave the form usable for the next try.
LOGIN_POOL: dict[str, Any] = {"concurrency_id": "login", "concurrency_limit": 2, "show_progress": "hidden"}
# The page's log-in signal: queued, because the page fires a State's change event only after a
# queued event (an un-queued one reports no changed State); no database work, so no limit.
SIGNAL: dict[str, Any] = {"api_visibility": "private", "concurrency_limit": None, "show_progress": "hidden"}


def log_in_client(
    context: AppContext, name: object, password: object, request: gr.Request | None, *, admin: bool = False
) -> AnnotatorLogin:
    """Check the throttle, then the password; open a session under the caller's cookie. With
    `admin`, anyone else is refused before a session opens, so a log-in already open stays."""
    client = client_of(context, request)
    name_text = name if isinstance(name, str) else ""
    context.login_throttle.check(name_text, client.ip)  # before any password is hashed
    roles = ADMIN_ROLES if admin else ANNOTATOR_ROLES
    try:
        # log_in refuses a password that is not a str itself (the API can send anything).
        user = log_in(context.database, name_text, cast(str, password), session_key=client.login_key, roles=roles)
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


def login_words(user: AnnotatorLogin | None) -> str:
    """The line every tab shows about the page's log-in (blank: nobody is logged in)."""
    return f"Logged in as **{user.name}** ({user.role})" if user is not None else ""


@dataclass(frozen=True)
class LoginChange:
    """The value of the page's log-in signal. `serial` makes every change a new value (a State's
    change event fires only then); `shown_by` names the tab that has shown it already."""

    serial: int
    shown_by: str | None  # None: a page load, which every tab shows


class PageLogin:
    """One log-in state per page, shown the same in every tab that shows it.

    The log-in itself stays the server-side session under the browser's cookie (one per
    browser, so a reload keeps it); the page holds only `changed`, a server-side State whose
    value never reaches the browser. Each log-in or log-out event, and each page load, bumps it;
    every tab listening with `on_change` then reads the session again and shows it.
    """

    def __init__(self, app: gr.Blocks, context: AppContext) -> None:
        self.context = context
        self.changed = gr.State(LoginChange(0, None))
        app.load(_bump(None), self.changed, self.changed, **SIGNAL)

    def announce(self, tab: str, events: Sequence[Dependency]) -> None:
        """After each of `events` (log-ins and log-outs in `tab`) succeeds, the other tabs follow."""
        for event in events:
            event.success(_bump(tab), self.changed, self.changed, **SIGNAL)

    def on_change(
        self,
        tab: str,
        show: Callable[..., list[Any]],
        outputs: list[Block],
        inputs: Sequence[Block] = (),
        **options: Any,
    ) -> None:
        """`show(login, *values of inputs)` in `tab`'s `outputs` whenever the page's log-in
        changes elsewhere or the page loads (`login` None: nobody is logged in)."""

        # gr.Request must be a positional parameter for Gradio to pass it: before the values.
        def follow(change: LoginChange, request: gr.Request, *values: Any) -> list[Any] | dict[Block, Any]:
            if change.shown_by == tab:
                return {outputs[0]: gr.skip()}  # Gradio reads an empty dict as one missing value
            return show(self.current(request), *values)

        # No progress overlay: the change comes unasked, often in a tab out of sight.
        quiet = {**options, "show_progress": "hidden"}
        self.changed.change(follow, [self.changed, *inputs], outputs, api_visibility="private", **quiet)

    def current(self, request: gr.Request | None) -> AnnotatorLogin | None:
        """The live log-in behind the caller's cookie, checked in the database; None if there is none."""
        try:
            return require_annotator(self.context.database, claimed_login(self.context, request))
        except NotAllowedError:  # NotLoggedInError included: logged out, expired, or never
            return None


def _bump(tab: str | None) -> Callable[[LoginChange], LoginChange]:
    def bump(change: LoginChange) -> LoginChange:
        return LoginChange(change.serial + 1, tab)

    return bump
