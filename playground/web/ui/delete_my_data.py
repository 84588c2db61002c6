""" "Delete my data" at the foot of My history: a tick to confirm, then everything of this
browser's identity is deleted from the server at once (playground/services/erasure.py)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import gradio as gr
from gradio.blocks import Block

from feedback_db.erasure import Erased
from playground.services.erasure import delete_my_data
from playground.serving.context import AppContext
from playground.web.ui.errors import shown_to_user
from playground.web.ui.session import viewer_of
from playground.web.ui.wording import plural

EXPLAINED = (
    "Deletes from this server, now: every request this browser made with its answers and images, "
    "your ratings, thumbs, comments, flags and best picks, and any arena battles of yours. No later "
    "retrain can use them. Model versions already trained keep what they learned (docs/SECURITY.md). "
    "This cannot be undone."
)
NOT_CONFIRMED = "Tick *I understand* first: nothing was deleted."
NOTHING_STORED = "Nothing is stored for this browser."


def erased_words(erased: Erased) -> str:
    return (
        f"**Deleted:** {plural(erased.requests, 'request')}, {plural(erased.ratings, 'rating')}, "
        f"{plural(erased.set_ratings, 'set rating')} and {plural(erased.flags, 'flag')}. Nothing of yours is "
        "left on this server; what you do next starts afresh."
    )


def build_delete_my_data(context: AppContext, after: Callable[[gr.Request], Any], after_outputs: Sequence[Block]) -> None:
    """The panel; `after(request)` refreshes the history list (`after_outputs`) once done."""
    with gr.Accordion("Delete my data", open=False, elem_id="history-delete"):
        gr.Markdown(EXPLAINED)
        confirm = gr.Checkbox(label="I understand: delete everything of mine now", elem_id="history-delete-confirm")
        delete = gr.Button("Delete my data", variant="stop", elem_id="history-delete-button")
        outcome = gr.Markdown(elem_id="history-deleted")

    def handler(confirmed: bool, request: gr.Request) -> tuple[str, bool]:
        with shown_to_user("delete your data"):
            if not confirmed:
                return NOT_CONFIRMED, False
            viewer = viewer_of(context, request)
            if viewer is None:
                return NOTHING_STORED, False
            return erased_words(delete_my_data(context, viewer)), False

    common: dict[str, Any] = {"api_visibility": "private", "queue": False, "show_progress": "hidden"}
    delete.click(handler, [confirm], [outcome, confirm], **common).then(after, None, list(after_outputs), **common)
