"""The Annotate tab: log-in, one queue item at a time with the guidelines beside the scores,
keyboard shortcuts, progress, and agreement figures for admins.

Layout only wires the plain functions of `playground.services.annotation`; every handler passes the
page's server-side login state to them, and they check the role in the database on each call.
Scores are collected on the page and saved together on Submit (source "annotator"), so an item
is either rated completely or not at all. Until then every change is kept on the server as the
item's draft (feedback_db/drafts.py), never in browser storage, so a reload brings it back.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import gradio as gr
import pandas as pd

from feedback_db.errors import LeaseLostError
from playground.core.database import Database
from playground.services.annotation import (
    AnnotatorLogin,
    Shown,
    agreement_for_admin,
    earlier_item,
    keep_draft,
    later_item,
    log_out,
    progress_of,
    require_annotator,
    skip_item,
    submit_item,
    take_next,
)
from playground.serving.context import AppContext
from playground.web.ui.annotate_keys import KEYS_JS, SHORTCUTS_HELP
from playground.web.ui.annotate_view import AnnotateView, ItemOnScreen, ScoreValues, ratings_of, request_id_of
from playground.web.ui.candidates import MAX_CARDS
from playground.web.ui.content import Guidelines
from playground.web.ui.errors import shown_to_user
from playground.web.ui.login import LOGIN_POOL, PageLogin, claimed_login, log_in_client, login_words

# Queued (un-queued events show no error toast), but in their own pool: database work only,
# so annotators never wait behind the model queue or behind each other.
# Messages (e.g. "Rate every candidate") leave after a few seconds: an annotator moves on fast.
TOAST_S = 4
PUBLIC: dict[str, Any] = {"concurrency_id": "annotate", "concurrency_limit": 8, "show_progress": "hidden"}


def build_annotate_tab(context: AppContext, guidelines: Guidelines, page_login: PageLogin) -> None:
    database, settings = context.database, context.settings

    def login_of(request: gr.Request | None) -> AnnotatorLogin:
        """The log-in the caller's cookie names (checked against the database by every call)."""
        return claimed_login(context, request)

    current = gr.State(None)  # ItemOnScreen | None
    # 1. The log-in form.
    with gr.Column(elem_id="annotate-login") as login_box:
        gr.Markdown("### Annotator log-in\nAccounts are added by an admin with `playground users add NAME`.")
        name = gr.Textbox(label="Name", elem_id="annotate-name", max_lines=1)
        password = gr.Textbox(label="Password", type="password", elem_id="annotate-password", max_lines=1)
        login_button = gr.Button("Log in", variant="primary", elem_id="annotate-login-button")
    # 2. The work area: the item and its scores across the full width (four candidates sit in
    #    one row on a laptop, like the Text tab's cards), the guidelines below them.
    with gr.Column(visible=False, elem_id="annotate-work") as work:
        with gr.Row(equal_height=True, elem_classes="annotate-header"):
            who = gr.Markdown(elem_id="annotate-who")
            progress = gr.Markdown(elem_id="annotate-progress")
            logout = gr.Button("Log out", size="sm", elem_id="annotate-logout", scale=0)
        with gr.Row(equal_height=False):
            with gr.Column(scale=3):
                status = gr.Markdown(elem_id="annotate-status")
                prompt = gr.Textbox(label="Prompt", interactive=False, lines=1, max_lines=8, elem_id="annotate-prompt")
            with gr.Column(scale=2, min_width=280, elem_classes="keyboard-help"):
                gr.Markdown(SHORTCUTS_HELP, elem_id="annotate-shortcuts")
        view = AnnotateView(guidelines)
        with gr.Row():
            # Medium buttons: with them the whole first item fits a 1280x900 window.
            back = gr.Button("← Back (B)", size="md", elem_id="annotate-back")
            to_queue = gr.Button("Return to queue", size="md", elem_id="annotate-queue")
            skip = gr.Button("Skip (S)", size="md", elem_id="annotate-skip")
            submit = gr.Button("Submit & next (Enter)", size="md", variant="primary", elem_id="annotate-submit")
        with gr.Accordion("Guidelines", open=True, elem_id="annotate-guidelines-box"):
            gr.Markdown(guidelines.markdown, elem_id="annotate-guidelines")
        with gr.Column(visible=False, elem_id="annotate-admin") as admin_box:
            agreement = gr.Markdown(elem_id="annotate-agreement")
            refresh = gr.Button("Refresh agreement", size="sm", elem_id="annotate-refresh")
    gr.HTML("", js_on_load=KEYS_JS, elem_id="annotate-keys")

    item_outputs = [current, status, prompt, progress, *view.components]

    def present(user: object, shown: Shown | None, message: str = "") -> list[Any]:
        """The updates for `item_outputs`."""
        done = progress_of(database, settings, user)
        counter = f"**Done today:** {done.done_today} · **left in the queue:** {done.left}"
        headline = f"{message} · {_status(shown)}" if message else _status(shown)
        return [
            ItemOnScreen.of(shown),
            headline,
            shown.item.prompt if shown else "",
            counter,
            *view.show(shown, settings, context.moderator),
        ]

    # 3. Handlers: each one checks the login on the server before anything else.
    def do_login(name_value: str, password_value: str, request: gr.Request) -> list[Any]:
        with shown_to_user("log in", TOAST_S):
            return logged_in(log_in_client(context, name_value, password_value, request))

    def logged_in(user: AnnotatorLogin) -> list[Any]:
        """The updates for `login_outputs` once `user` is checked."""
        return [
            gr.Column(visible=False),
            gr.Column(visible=True),
            "",
            login_words(user),
            gr.Column(visible=user.is_admin),
            _agreement_markdown(database, user) if user.is_admin else "",
            *present(user, take_next(database, settings, user)),
        ]

    def absent() -> list[Any]:
        """The updates for `item_outputs` when nobody is logged in: no item on the page."""
        return [None, "", "", "", *view.show(None, settings, context.moderator)]

    def follow(user: AnnotatorLogin | None) -> list[Any]:
        """The page's log-in, changed in another tab or found on page load: a browser whose cookie
        holds a live log-in stays logged in, on its current item (the lease survives a reload);
        anyone else sees the form."""
        if user is None:
            return [gr.Column(visible=True), gr.Column(visible=False), gr.skip(), "", gr.Column(visible=False), "", *absent()]
        with shown_to_user("show your log-in", TOAST_S):
            return logged_in(user)

    def do_logout(request: gr.Request) -> list[Any]:
        with shown_to_user("log out", TOAST_S):
            log_out(database, login_of(request))
            return [None, gr.Column(visible=True), gr.Column(visible=False), gr.Column(visible=False), ""]

    def with_scores(action: Callable[[AnnotatorLogin, ItemOnScreen | None, ScoreValues], Any]) -> Callable[..., Any]:
        """A handler taking the item on screen and the score widgets (`view.score_inputs`, for
        MAX_CARDS = 4 cards) that hands them to `action` with the caller's log-in."""
        if MAX_CARDS != 4:
            raise RuntimeError(f"with_scores spells out 4 cards' widgets, not MAX_CARDS = {MAX_CARDS}")

        def handler(
            item: ItemOnScreen | None,
            n1: Any, n2: Any, n3: Any, n4: Any,
            r1: Any, r2: Any, r3: Any, r4: Any,
            diversity: Any, best: Any,
            f1: Any, f2: Any, f3: Any, f4: Any,
            request: gr.Request,
        ) -> Any:  # fmt: skip
            return action(login_of(request), item, (n1, n2, n3, n4, r1, r2, r3, r4, diversity, best, f1, f2, f3, f4))

        return handler

    def submit_scores(user: AnnotatorLogin, item: ItemOnScreen | None, values: ScoreValues) -> list[Any]:
        with shown_to_user("save the ratings", TOAST_S):
            require_annotator(database, user)
            request_id = request_id_of(item)
            try:
                submit_item(database, settings, user, request_id, ratings_of(item, values))
            except LeaseLostError as error:
                return present(user, take_next(database, settings, user), f"⚠ {error}")
            if item is not None and item.editing:
                later = later_item(database, user, request_id)
                if later is not None:
                    return present(user, later, "✓ Saved your changes")
            return present(user, take_next(database, settings, user), "✓ Saved.")

    def keep_scores(user: AnnotatorLogin, item: ItemOnScreen | None, values: ScoreValues) -> None:
        """Keep the scores of the current item on the server as they are set."""
        with shown_to_user("keep your scores", TOAST_S):
            require_annotator(database, user)
            if item is not None and not item.editing:  # an earlier, submitted item is saved by Submit only
                keep_draft(database, user, item.request_id, ratings_of(item, values))

    def do_skip(item: ItemOnScreen | None, request: gr.Request) -> list[Any]:
        user = login_of(request)
        with shown_to_user("skip", TOAST_S):
            require_annotator(database, user)
            if item is None or item.editing:
                return present(user, take_next(database, settings, user), "Back in the queue.")
            skip_item(database, user, item.request_id)
            return present(user, take_next(database, settings, user), "Skipped.")

    def do_back(item: ItemOnScreen | None, request: gr.Request) -> list[Any]:
        user = login_of(request)
        with shown_to_user("go back", TOAST_S):
            require_annotator(database, user)
            shown = earlier_item(database, user, item.request_id if item else None, bool(item and item.editing))
            if shown is None:
                raise gr.Error("There is no earlier item to go back to.", title="Nothing earlier")
            return present(user, shown)

    def do_next(request: gr.Request) -> list[Any]:
        user = login_of(request)
        with shown_to_user("load the next item", TOAST_S):
            return present(user, take_next(database, settings, user))

    def do_agreement(request: gr.Request) -> str:
        user = login_of(request)
        with shown_to_user("compute agreement"):
            return _agreement_markdown(database, user)

    login_outputs = [login_box, work, password, who, admin_box, agreement, *item_outputs]
    logged_in_by_click = login_button.click(do_login, [name, password], login_outputs, api_name="annotate_login", **LOGIN_POOL)
    logged_in_by_enter = password.submit(do_login, [name, password], login_outputs, api_visibility="private", **LOGIN_POOL)
    logged_out = logout.click(do_logout, None, [current, login_box, work, admin_box, who], api_name="annotate_logout", **PUBLIC)
    # One log-in per page: the Insights tab follows this one's log-ins, and this one follows
    # Insights' and the page load (playground/web/ui/login.py).
    page_login.announce("annotate", [logged_in_by_click, logged_in_by_enter, logged_out])
    page_login.on_change("annotate", follow, login_outputs, **PUBLIC)
    score_inputs = view.score_inputs
    submit.click(with_scores(submit_scores), [current, *score_inputs], item_outputs, api_name="annotate_submit", **PUBLIC)
    # `.input` fires on the annotator's clicks and keys, not when an item is shown. One listener
    # for all of them, "always_last": a page never has two saves in flight, so none lands out
    # of order, and the last change is always sent.
    gr.on(
        [widget.input for widget in score_inputs],
        with_scores(keep_scores),
        [current, *score_inputs],
        None,
        trigger_mode="always_last",
        api_name="annotate_draft",
        **PUBLIC,
    )
    skip.click(do_skip, current, item_outputs, api_name="annotate_skip", **PUBLIC)
    # always_last: a second Back pressed while the first runs goes back one more item once the
    # first lands (the default, "once", drops it, so a quick double B went back only once).
    back.click(do_back, current, item_outputs, api_name="annotate_back", trigger_mode="always_last", **PUBLIC)
    to_queue.click(do_next, None, item_outputs, api_name="annotate_next", **PUBLIC)
    refresh.click(do_agreement, None, agreement, api_name="annotate_agreement", **PUBLIC)


def _status(shown: Shown | None) -> str:
    if shown is None:
        return "🎉 **The queue is empty.** New items arrive as people generate, or with `playground generate`."
    count = len(shown.item.outputs)
    if shown.editing:
        return f"**Editing an earlier item** (request {shown.item.request_id}): change the scores, then Submit."
    until = f" · reserved for you until {shown.lease_expires_at:%H:%M} UTC" if shown.lease_expires_at else ""
    return f"Request {shown.item.request_id} · {count} candidate{'s' * (count > 1)}{until}"


def _agreement_markdown(database: Database, user: object) -> str:
    frames = agreement_for_admin(database, user)
    lines = [
        "### Agreement (Krippendorff's alpha, ordinal; annotator ratings only)",
        "| axis | alpha | items with ≥2 ratings | ratings | annotators |",
        "|---|---|---|---|---|",
    ]
    for row in frames["agreement"].itertuples():
        alpha = "n/a" if math.isnan(row.alpha) else f"{row.alpha:.3f}"
        lines.append(f"| {row.axis} | {alpha} | {row.items} | {row.ratings} | {row.annotators} |")
    pairs: pd.DataFrame = frames["agreement_pairs"]
    lines += ["", "**Co-rated items per annotator pair**", ""]
    if pairs.empty:
        lines.append("No item has been rated by two annotators yet.")
    else:
        lines += ["| annotator | annotator | co-rated items |", "|---|---|---|"]
        lines += [f"| {r.annotator_a} | {r.annotator_b} | {r.co_rated_items} |" for r in pairs.itertuples()]
    return "\n".join(lines)
