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
from typing import Any

import gradio as gr
import pandas as pd

from feedback_db.assignments import ItemRatings
from feedback_db.errors import LeaseLostError
from playground.core.errors import NotAllowedError, StaleRequestError
from playground.core.settings import Settings
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
from playground.web.ui.candidates import MAX_CARDS, SCORES, TypedRadio, raw_text_toggle
from playground.web.ui.content import Guidelines
from playground.web.ui.errors import shown_to_user
from playground.web.ui.login import LOGIN_POOL, claimed_login, log_in_client
from playground.web.ui.values import score_value

# Queued (un-queued events show no error toast), but in their own pool: database work only,
# so annotators never wait behind the model queue or behind each other.
# Messages (e.g. "Rate every candidate") leave after a few seconds: an annotator moves on fast.
TOAST_S = 4
PUBLIC = {"concurrency_id": "annotate", "concurrency_limit": 8, "show_progress": "hidden"}


class AnnotateView:
    """The tab's components, and the updates that show an item (or the empty queue) in them."""

    def __init__(self, guidelines: Guidelines):
        self.cards: list[tuple[gr.Column, gr.Textbox, gr.Image, gr.Radio, gr.Radio]] = []
        self.flags: list[gr.Checkbox] = []  # per card; saved with the item on Submit
        self.rendered: list[gr.Markdown] = []  # each card's text as sanitized Markdown
        raw_text_toggle("annotate")
        with gr.Row(equal_height=False, elem_classes="cards", elem_id="annotate-cards"):
            for i in range(MAX_CARDS):
                with gr.Column(visible=False, min_width=240, elem_id=f"annotate-{i}-card", elem_classes="card") as column:
                    self.rendered.append(
                        gr.Markdown(
                            label=f"Candidate {i + 1}",
                            show_label=True,
                            container=True,
                            sanitize_html=True,
                            min_height=100,
                            max_height=480,
                            elem_id=f"annotate-{i}-rendered",
                            elem_classes="rendered-output",
                        )
                    )
                    text = gr.Textbox(
                        label=f"Candidate {i + 1} (raw text)",
                        lines=6,
                        max_lines=20,
                        interactive=False,
                        elem_id=f"annotate-{i}-text",
                        elem_classes="raw-output",
                    )
                    image = gr.Image(
                        label=f"Image {i + 1}",
                        interactive=False,
                        height=256,
                        visible=False,
                        buttons=["download", "fullscreen"],  # no Spaces-only "share"
                        elem_id=f"annotate-{i}-image",
                    )
                    naturalness = TypedRadio(
                        SCORES,
                        label="Naturalness",
                        info=guidelines.one_line("naturalness"),
                        elem_id=f"annotate-{i}-naturalness",
                        elem_classes="annotate-score",
                    )
                    reliability = TypedRadio(
                        SCORES,
                        label="Reliability",
                        info=guidelines.one_line("reliability"),
                        elem_id=f"annotate-{i}-reliability",
                        elem_classes="annotate-score",
                    )
                    self.flags.append(gr.Checkbox(label="Flag as harmful (F)", elem_id=f"annotate-{i}-flag", elem_classes="annotate-flag"))
                self.cards.append((column, text, image, naturalness, reliability))
        with gr.Row():
            self.diversity = TypedRadio(
                SCORES,
                label="Diversity of the set",
                info=guidelines.one_line("diversity"),
                elem_id="annotate-diversity",
                elem_classes="annotate-score",
                scale=1,
            )
            self.best = TypedRadio(
                [],
                label="Best candidate (optional)",
                info="keys 1-4 when highlighted",
                elem_id="annotate-best",
                elem_classes="annotate-score",
                scale=1,
            )

    @property
    def components(self) -> list:
        parts: list = []
        for card in self.cards:
            parts += list(card)
        return parts + [self.diversity, self.best, *self.rendered, *self.flags]

    def show(self, shown: Shown | None, settings: Settings) -> list:
        """Updates for `components`: the item's candidates with any earlier scores, or nothing."""
        outputs = shown.item.outputs if shown else []
        updates: list = []
        for index, _ in enumerate(self.cards):
            output = outputs[index] if index < len(outputs) else None
            scores = shown.ratings.scores.get(output.output_id, (None, None)) if output else (None, None)
            is_image = output is not None and output.image_path is not None
            updates += [
                gr.Column(visible=output is not None),
                gr.Textbox(value=output.text if output else "", visible=not is_image),
                gr.Image(value=str(settings.stored_file(output.image_path)) if is_image else None, visible=is_image),
                gr.Radio(value=scores[0]),
                gr.Radio(value=scores[1]),
            ]
        several = len(outputs) > 1
        best_index = next((o.index for o in outputs if shown and o.output_id == shown.ratings.best_output_id), None)
        updates += [
            gr.Radio(value=shown.ratings.diversity if shown else None, visible=several),
            gr.Radio(choices=[(f"Candidate {o.index + 1}", o.index) for o in outputs], value=best_index, visible=several),
        ]
        for index, _ in enumerate(self.rendered):
            output = outputs[index] if index < len(outputs) else None
            text = output.text if output is not None and output.image_path is None else None
            updates.append(gr.Markdown(value=text or "", visible=text is not None))
        flagged = shown.ratings.flagged if shown else frozenset()
        updates += [gr.Checkbox(value=index < len(outputs) and outputs[index].output_id in flagged) for index, _ in enumerate(self.flags)]
        return updates


def build_annotate_tab(context: AppContext, guidelines: Guidelines, app: gr.Blocks) -> None:
    database, settings = context.database, context.settings

    def login_of(request: gr.Request | None) -> AnnotatorLogin:
        """The log-in the caller's cookie names (checked against the database by every call)."""
        return claimed_login(context, request)

    current = gr.State(None)  # {"request_id", "output_ids", "editing"}
    # 1. The log-in form.
    with gr.Column(elem_id="annotate-login") as login_box:
        gr.Markdown("### Annotator log-in\nAccounts are added by an admin with `playground users add NAME`.")
        name = gr.Textbox(label="Name", elem_id="annotate-name", max_lines=1)
        password = gr.Textbox(label="Password", type="password", elem_id="annotate-password", max_lines=1)
        login_button = gr.Button("Log in", variant="primary", elem_id="annotate-login-button")
    # 2. The work area: the item and its scores across the full width (four candidates sit in
    #    one row on a laptop, like the Text tab's cards), the guidelines below them.
    with gr.Column(visible=False, elem_id="annotate-work") as work:
        with gr.Row(equal_height=True):
            who = gr.Markdown(elem_id="annotate-who")
            progress = gr.Markdown(elem_id="annotate-progress")
            logout = gr.Button("Log out", size="sm", elem_id="annotate-logout", scale=0)
        with gr.Row(equal_height=False):
            with gr.Column(scale=3):
                status = gr.Markdown(elem_id="annotate-status")
                prompt = gr.Textbox(label="Prompt", interactive=False, lines=1, max_lines=8, elem_id="annotate-prompt")
            with gr.Column(scale=2, min_width=280):
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

    def present(user: object, shown: Shown | None, message: str = "") -> list:
        """The updates for `item_outputs`."""
        state = None
        if shown is not None:
            state = {"request_id": shown.item.request_id, "editing": shown.editing, "output_ids": [o.output_id for o in shown.item.outputs]}
        done = progress_of(database, settings, user)
        counter = f"**Done today:** {done.done_today} · **left in the queue:** {done.left}"
        headline = f"{message} · {_status(shown)}" if message else _status(shown)
        return [state, headline, shown.item.prompt if shown else "", counter, *view.show(shown, settings)]

    # 3. Handlers: each one checks the login on the server before anything else.
    def do_login(name_value: str, password_value: str, request: gr.Request) -> list:
        with shown_to_user("log in", TOAST_S):
            return logged_in(log_in_client(context, name_value, password_value, request))

    def logged_in(user: AnnotatorLogin) -> list:
        """The updates for `login_outputs` once `user` is checked."""
        return [
            gr.Column(visible=False),
            gr.Column(visible=True),
            "",
            f"Logged in as **{user.name}** ({user.role})",
            gr.Column(visible=user.is_admin),
            _agreement_markdown(database, user) if user.is_admin else "",
            *present(user, take_next(database, settings, user)),
        ]

    def resume(request: gr.Request) -> list | dict:
        """On page load: a browser whose cookie holds a live log-in stays logged in, on its
        current item (the lease survives the reload); anyone else sees the form."""
        try:
            user = require_annotator(database, login_of(request))
        except NotAllowedError:  # NotLoggedInError included
            return {login_box: gr.skip()}  # Gradio reads an empty dict as one missing value
        with shown_to_user("resume your log-in", TOAST_S):
            return logged_in(user)

    def do_logout(request: gr.Request) -> list:
        with shown_to_user("log out", TOAST_S):
            log_out(database, login_of(request))
            return [None, gr.Column(visible=True), gr.Column(visible=False), gr.Column(visible=False), ""]

    def do_submit(
        state: dict | None,
        n1: Any,
        n2: Any,
        n3: Any,
        n4: Any,
        r1: Any,
        r2: Any,
        r3: Any,
        r4: Any,
        diversity: Any,
        best: Any,
        f1: Any,
        f2: Any,
        f3: Any,
        f4: Any,
        request: gr.Request,
    ) -> list:
        values = (n1, n2, n3, n4, r1, r2, r3, r4, diversity, best, f1, f2, f3, f4)  # the order of `score_inputs`
        user = login_of(request)
        with shown_to_user("save the ratings", TOAST_S):
            require_annotator(database, user)
            request_id = _request_id(state)
            try:
                submit_item(database, settings, user, request_id, _ratings(state, values))
            except LeaseLostError as error:
                return present(user, take_next(database, settings, user), f"⚠ {error}")
            if state and state.get("editing"):
                later = later_item(database, user, request_id)
                if later is not None:
                    return present(user, later, "✓ Saved your changes")
            return present(user, take_next(database, settings, user), "✓ Saved.")

    def do_draft(
        state: dict | None,
        n1: Any,
        n2: Any,
        n3: Any,
        n4: Any,
        r1: Any,
        r2: Any,
        r3: Any,
        r4: Any,
        diversity: Any,
        best: Any,
        f1: Any,
        f2: Any,
        f3: Any,
        f4: Any,
        request: gr.Request,
    ) -> None:
        """Keep the scores of the current item on the server as they are set."""
        values = (n1, n2, n3, n4, r1, r2, r3, r4, diversity, best, f1, f2, f3, f4)  # the order of `score_inputs`
        user = login_of(request)
        with shown_to_user("keep your scores", TOAST_S):
            require_annotator(database, user)
            if state and not state.get("editing"):  # an earlier, submitted item is saved by Submit only
                keep_draft(database, user, _request_id(state), _ratings(state, values))

    def do_skip(state: dict | None, request: gr.Request) -> list:
        user = login_of(request)
        with shown_to_user("skip", TOAST_S):
            require_annotator(database, user)
            if not state or state.get("editing"):
                return present(user, take_next(database, settings, user), "Back in the queue.")
            skip_item(database, user, _request_id(state))
            return present(user, take_next(database, settings, user), "Skipped.")

    def do_back(state: dict | None, request: gr.Request) -> list:
        user = login_of(request)
        with shown_to_user("go back", TOAST_S):
            require_annotator(database, user)
            current_id = state["request_id"] if state else None
            shown = earlier_item(database, user, current_id, bool(state and state.get("editing")))
            if shown is None:
                raise gr.Error("There is no earlier item to go back to.", title="Nothing earlier")
            return present(user, shown)

    def do_next(request: gr.Request) -> list:
        user = login_of(request)
        with shown_to_user("load the next item", TOAST_S):
            return present(user, take_next(database, settings, user))

    def do_agreement(request: gr.Request) -> str:
        user = login_of(request)
        with shown_to_user("compute agreement"):
            return _agreement_markdown(database, user)

    login_outputs = [login_box, work, password, who, admin_box, agreement, *item_outputs]
    login_button.click(do_login, [name, password], login_outputs, api_name="annotate_login", **LOGIN_POOL)
    password.submit(do_login, [name, password], login_outputs, api_visibility="private", **LOGIN_POOL)
    app.load(resume, None, login_outputs, api_visibility="private", **PUBLIC)
    logout.click(do_logout, None, [current, login_box, work, admin_box, who], api_name="annotate_logout", **PUBLIC)
    score_inputs = [c[3] for c in view.cards] + [c[4] for c in view.cards] + [view.diversity, view.best, *view.flags]
    submit.click(do_submit, [current, *score_inputs], item_outputs, api_name="annotate_submit", **PUBLIC)
    # `.input` fires on the annotator's clicks and keys, not when an item is shown. One listener
    # for all of them, "always_last": a page never has two saves in flight, so none lands out
    # of order, and the last change is always sent.
    gr.on(
        [widget.input for widget in score_inputs],
        do_draft,
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


def _request_id(state: dict | None) -> int:
    if not state:
        raise StaleRequestError("There is no item on screen: the queue is empty or you are logged out.")
    return int(state["request_id"])


def _ratings(state: dict | None, values: tuple) -> ItemRatings:
    """Radio values in `score_inputs` order -> ItemRatings for the outputs on screen."""
    output_ids = list((state or {}).get("output_ids", []))
    naturalness, reliability = values[:MAX_CARDS], values[MAX_CARDS : 2 * MAX_CARDS]
    diversity, best = values[2 * MAX_CARDS], values[2 * MAX_CARDS + 1]
    flags = values[2 * MAX_CARDS + 2 :]
    flagged = frozenset(output_id for i, output_id in enumerate(output_ids) if i < len(flags) and flags[i] is True)
    scores = {output_id: (_score(naturalness[i]), _score(reliability[i])) for i, output_id in enumerate(output_ids)}
    best_id = None
    if best not in (None, ""):
        index = score_value("best candidate", best, low=0, high=len(output_ids) - 1)
        best_id = output_ids[index]
    return ItemRatings(scores, diversity=_score(diversity), best_output_id=best_id, flagged=flagged)


def _score(value: Any) -> int | None:
    return score_value("a score", value, low=1, high=5)


def _status(shown: Shown | None) -> str:
    if shown is None:
        return "🎉 **The queue is empty.** New items arrive as people generate, or with `playground generate`."
    count = len(shown.item.outputs)
    if shown.editing:
        return f"**Editing an earlier item** (request {shown.item.request_id}): change the scores, then Submit."
    until = f" · reserved for you until {shown.lease_expires_at:%H:%M} UTC" if shown.lease_expires_at else ""
    return f"Request {shown.item.request_id} · {count} candidate{'s' * (count > 1)}{until}"


def _agreement_markdown(database, user: object) -> str:
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
