"""Saving the ratings given on a candidate card and in the set panel.

Every rating widget saves on its own event (`.input`, so programmatic resets never write), and
shows that it was saved next to it. Shared by the Text, Image and My history tabs.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import gradio as gr

from feedback_db.reasons import compose_reason
from playground.core.errors import StaleRequestError
from playground.services.identity import Viewer
from playground.services.ratings import GENERATE_FIRST, flag_output, give_reason, rate_output, rate_set
from playground.serving.context import AppContext
from playground.web.ui.candidates import CandidateCard, SetPanel
from playground.web.ui.errors import shown_to_user
from playground.web.ui.session import viewer_of
from playground.web.ui.state import ShownRequest, output_id_for, request_id_for
from playground.web.ui.values import score_value
from playground.web.ui.wording import saved_line

# Rating events never wait behind anything: un-queued for the browser (one POST each), and
# without a concurrency limit for gradio_client, which joins the queue even for un-queued
# events and there met Gradio's default limit of 1 per event: 50 raters took turns on one slot.
# Writes take turns on the database's write lock instead (playground/core/database.py).
RATING_EVENT: dict[str, Any] = {"queue": False, "concurrency_limit": None}
# A widget's save: no API endpoint of its own (API callers have /rate_<modality>,
# playground/web/ui/rating_api.py) and no progress overlay over the card.
WIDGET_SAVE: dict[str, Any] = {**RATING_EVENT, "api_visibility": "private", "show_progress": "hidden"}


def require_viewer(viewer: Viewer | None) -> Viewer:
    """Rating needs an identity, which only a finished generation creates (never a refusal)."""
    if viewer is None:
        raise StaleRequestError(GENERATE_FIRST)
    return viewer


def wire_card(card: CandidateCard, index: int, context: AppContext, shown: gr.State) -> None:
    """Save each rating widget of card `index` the moment the user changes it: 1. the scores,
    2. thumbs and flag (with the reason already chosen), 3. the reason, 4. the comment."""
    database = context.database

    def save(field: str) -> Callable[[ShownRequest | None, Any, gr.Request], str]:
        def handler(shown_value: ShownRequest | None, value: Any, request: gr.Request) -> str:
            with shown_to_user("save the rating"):
                viewer_value = require_viewer(viewer_of(context, request))
                output_id = output_id_for(shown_value, index)
                if field == "flag":
                    return saved_line(flag_output(database, viewer_value, output_id, bool(value)))
                if field == "comment":
                    value = value.strip() or None
                return saved_line(rate_output(database, viewer_value, output_id, **{field: value}))

        return handler

    # 1. The scores.
    for field, component in (("naturalness", card.naturalness), ("reliability", card.reliability)):
        component.input(save(field), [shown, component], card.saved, **WIDGET_SAVE)

    def save_negative(field: str) -> Callable[..., tuple[str, gr.Group]]:
        """Thumbs and flag: saved with the reason already chosen; the reason box follows them."""

        def handler(
            shown_value: ShownRequest | None,
            thumbs: Any,
            flagged: Any,
            chips: list[str] | None,
            detail: str | None,
            request: gr.Request,
        ) -> tuple[str, gr.Group]:
            with shown_to_user("save the rating"):
                viewer_value = require_viewer(viewer_of(context, request))
                output_id = output_id_for(shown_value, index)
                reason = compose_reason(chips, detail)
                if field == "flag":
                    message = flag_output(database, viewer_value, output_id, bool(flagged), reason)
                else:
                    extra: dict[str, Any] = {"reason": reason} if thumbs == -1 else {}
                    message = rate_output(database, viewer_value, output_id, thumbs=thumbs, **extra)
                return saved_line(message), gr.Group(visible=thumbs == -1 or bool(flagged))

        return handler

    # 2. Thumbs and flag.
    negative_inputs = [shown, card.thumbs, card.flag, card.reasons, card.reason_detail]
    card.thumbs.input(save_negative("thumbs"), negative_inputs, [card.saved, card.why], **WIDGET_SAVE)
    card.flag.input(save_negative("flag"), negative_inputs, [card.saved, card.why], **WIDGET_SAVE)

    def save_reason(shown_value: ShownRequest | None, chips: list[str] | None, detail: str | None, request: gr.Request) -> str:
        with shown_to_user("save the reason"):
            viewer_value = require_viewer(viewer_of(context, request))
            return saved_line(give_reason(database, viewer_value, output_id_for(shown_value, index), chips, detail))

    # 3. The reason, and 4. the comment: a text saves on Enter or when it loses focus.
    reason_inputs = [shown, card.reasons, card.reason_detail]
    for trigger in (card.reasons.input, card.reason_detail.submit, card.reason_detail.blur):
        trigger(save_reason, reason_inputs, card.saved, **WIDGET_SAVE)
    for trigger in (card.comment.submit, card.comment.blur):
        trigger(save("comment"), [shown, card.comment], card.saved, **WIDGET_SAVE)


def wire_set_panel(panel: SetPanel, context: AppContext, shown: gr.State) -> None:
    """Save the set's diversity score and best pick the moment the user changes them."""
    database = context.database

    def save_diversity(shown_value: ShownRequest | None, value: Any, request: gr.Request) -> str:
        with shown_to_user("save the diversity score"):
            viewer_value = require_viewer(viewer_of(context, request))
            diversity = score_value("diversity", value, low=1, high=5)
            return saved_line(rate_set(database, viewer_value, request_id_for(shown_value), diversity=diversity))

    def save_best(shown_value: ShownRequest | None, index: Any, request: gr.Request) -> str:
        with shown_to_user("save the best pick"):
            viewer_value = require_viewer(viewer_of(context, request))
            best = output_id_for(shown_value, index) if index not in (None, "") else None
            return saved_line(rate_set(database, viewer_value, request_id_for(shown_value), best_output_id=best))

    panel.diversity.input(save_diversity, [shown, panel.diversity], panel.saved, **WIDGET_SAVE)
    panel.best.input(save_best, [shown, panel.best], panel.saved, **WIDGET_SAVE)
