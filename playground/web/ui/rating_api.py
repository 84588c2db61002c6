"""The API-only rating endpoints for scripts and gradio_client (`/rate_<kind>`,
`/rate_<kind>_set`, `/reason_<kind>`): the same handlers as the card widgets, addressing the
candidates by their index on screen."""

from __future__ import annotations

from typing import Any

import gradio as gr

from feedback_db.errors import InvalidInputError
from feedback_db.reasons import MAX_REASON_DETAIL_CHARS, REASON_CHIPS
from playground.services.ratings import give_reason, rate_output, rate_set
from playground.serving.context import AppContext
from playground.web.ui.card_ratings import RATING_EVENT, require_viewer
from playground.web.ui.errors import shown_to_user
from playground.web.ui.session import viewer_of
from playground.web.ui.state import ShownRequest, output_id_for, request_id_for
from playground.web.ui.values import score_value


def wire_rating_api(kind: str, context: AppContext, shown: gr.State) -> None:
    """API-only endpoints (no triggers: `gr.on([])`) (`/rate_<kind>`, `/rate_<kind>_set`, `/reason_<kind>`) for scripts and gradio_client:
    the same handlers as the widgets, addressing candidates by their index on screen."""
    with gr.Group(visible=False):
        # No `precision`: Gradio would round 3.5 to 4; score_value refuses it instead.
        index = gr.Number(label="candidate index (0-based)")
        naturalness = gr.Number(None, label="naturalness 1-5 (blank: unchanged)")
        reliability = gr.Number(None, label="reliability 1-5 (blank: unchanged)")
        thumbs = gr.Number(None, label="thumbs 1 or -1 (blank: unchanged)")
        comment = gr.Textbox(None, label="comment (blank: unchanged)")
        diversity = gr.Number(None, label="diversity 1-5 (blank: unchanged)")
        best = gr.Number(None, label="best candidate index (blank: unchanged)")
        chips = gr.Textbox(None, label=f"reasons, comma-separated: {', '.join(REASON_CHIPS)}")
        details = gr.Textbox(None, label=f"reason details (up to {MAX_REASON_DETAIL_CHARS} characters)")
    database = context.database

    def rate(shown_value: ShownRequest | None, index_value: Any, nat: Any, rel: Any, thumb: Any, text: Any, request: gr.Request) -> str:
        with shown_to_user("save the rating"):
            fields = checked_rating_fields(nat, rel, thumb, _as_text(text))
            viewer_value = require_viewer(viewer_of(context, request))
            output_id = output_id_for(shown_value, index_value)
            return rate_output(database, viewer_value, output_id, **fields)

    def rate_whole_set(shown_value: ShownRequest | None, diversity_value: Any, best_value: Any, request: gr.Request) -> str:
        with shown_to_user("save the set rating"):
            fields: dict[str, Any] = {}
            if diversity_value not in (None, ""):
                fields["diversity"] = score_value("diversity", diversity_value, low=1, high=5)
            viewer_value = require_viewer(viewer_of(context, request))
            if best_value not in (None, ""):
                fields["best_output_id"] = output_id_for(shown_value, best_value)
            if not fields:
                raise InvalidInputError("give diversity or best")
            return rate_set(database, viewer_value, request_id_for(shown_value), **fields)

    def reason(shown_value: ShownRequest | None, index_value: Any, chips_value: Any, details_value: Any, request: gr.Request) -> str:
        with shown_to_user("save the reason"):
            given = [chip.strip() for chip in (_as_text(chips_value) or "").split(",") if chip.strip()]
            viewer_value = require_viewer(viewer_of(context, request))
            output_id = output_id_for(shown_value, index_value)
            return give_reason(database, viewer_value, output_id, given, _as_text(details_value))

    result = gr.Textbox(visible=False)
    # No preprocess: Gradio runs each input's preprocess as its own hop to a worker thread (five
    # for /rate_*), and each hop waited for the GIL while a model ran; these handlers check
    # the raw values themselves (score_value, _check_text).
    api: dict[str, Any] = {**RATING_EVENT, "preprocess": False}
    gr.on([], reason, [shown, index, chips, details], result, api_name=f"reason_{kind}", **api)
    gr.on([], rate, [shown, index, naturalness, reliability, thumbs, comment], result, api_name=f"rate_{kind}", **api)
    gr.on([], rate_whole_set, [shown, diversity, best], result, api_name=f"rate_{kind}_set", **api)


def checked_rating_fields(naturalness: Any, reliability: Any, thumbs: Any, comment: str | None) -> dict[str, Any]:
    """The rating fields an API call gives, checked (blank: left out); shared by `/rate_<kind>`
    and the JSON route (playground/web/rating_route.py), so both refuse alike."""
    fields: dict[str, Any] = {
        "naturalness": score_value("naturalness", naturalness, low=1, high=5),
        "reliability": score_value("reliability", reliability, low=1, high=5),
        "thumbs": score_value("thumbs", thumbs, low=-1, high=1),
        "comment": comment or None,
    }
    if fields["thumbs"] == 0:
        raise InvalidInputError("thumbs must be 1 or -1, got 0")
    fields = {name: value for name, value in fields.items() if value is not None}
    if not fields:
        raise InvalidInputError("give at least one of naturalness, reliability, thumbs or comment")
    return fields


def _as_text(value: Any) -> str | None:
    """A Textbox value as its preprocess would hand it over (the API endpoints skip preprocess)."""
    return None if value is None else str(value)
