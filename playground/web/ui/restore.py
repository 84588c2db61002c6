"""Showing a stored request in candidate cards: the Text and Image tabs after a reload, and the
history panel. Read from the database through the caller's cookie identity; nothing of it is kept
in the browser's storage, and the request's ids stay in server-side state.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import gradio as gr
from gradio.blocks import Block

from feedback_db.history import CandidateView, RequestView, last_request_id, request_view
from feedback_db.queries import DEFAULT_FLAG_REASON
from feedback_db.reasons import parse_reason
from playground.core.moderation import withheld_notice
from playground.services.identity import Viewer
from playground.serving.context import AppContext
from playground.web.ui.candidates import MAX_CARDS, CandidateCard, SetPanel, closed_about, continue_update, rating_components
from playground.web.ui.errors import shown_to_user
from playground.web.ui.personal_tuning import TuningParts
from playground.web.ui.session import viewer_of
from playground.web.ui.shading import stored_confidence
from playground.web.ui.state import ShownRequest
from playground.web.ui.waiting import first_token_words
from playground.web.ui.wording import answered_by, finish_words

RESTORED_STATUS = "Your last request, restored · change any rating below; every click is saved."
# A reload during a generation: Gradio closes the old page's stream and the request is closed
# "interrupted" with its text so far, from a thread, a moment later; the restore waits for that
# while this server still runs a generation of the browser's (and a moment after it ends, for the
# write), at most RUNNING_WAIT_S. A request a stopped server left running is not waited for.
RUNNING_WAIT_S = 3.0
CLOSING_GRACE_S = 0.5
RUNNING_POLL_S = 0.1


def restored_status(view: RequestView) -> str:
    """The status line over a restored request, saying how it ended."""
    if view.status == "stopped":
        return "Your last request (stopped by you), restored · change any rating below; every click is saved."
    if view.status == "interrupted":
        so_far = "its text so far is below; rate it, or" if view.candidates else "nothing had been generated yet;"
        return f"Your last request was interrupted (the page was left before it finished) · {so_far} Generate to ask again."
    if view.status == "running":
        return "Your last request did not finish (the server stopped, or it is still generating) · Generate to ask again."
    return RESTORED_STATUS


def settled_view(context: AppContext, viewer: Viewer, request_id: int) -> RequestView:
    """The request once it is no longer running, or as it is when no generation of this browser's
    runs here any more (after a short grace for its closing write), at most RUNNING_WAIT_S."""
    started = time.monotonic()
    view = load_view(context, viewer, request_id)
    while view.status == "running" and time.monotonic() < started + RUNNING_WAIT_S:
        generating = context.stops.running(viewer.browser_session)
        if not generating and time.monotonic() > started + CLOSING_GRACE_S:
            break
        time.sleep(RUNNING_POLL_S)
        view = load_view(context, viewer, request_id)
    return view


def card_count(view: RequestView) -> int:
    """How many candidates the request asked for (the slider's value), at least the cards shown."""
    asked = view.parameters.get("n")
    asked = asked if isinstance(asked, int) and not isinstance(asked, bool) and 1 <= asked <= MAX_CARDS else 1
    return max(asked if view.status in ("interrupted", "running") else 1, len(view.candidates), 1)


@dataclass
class TabParts:
    """What a playground tab shows a request in."""

    prompt: gr.Textbox
    count: gr.Slider  # how many candidates: a restored request sets it to its own count
    shown: gr.State  # ShownRequest | None
    status: gr.Markdown
    cards: list[CandidateCard]
    panel: SetPanel
    tuning: TuningParts | None = None  # the sampling knob tuned for this person, if the tab has one


def load_view(context: AppContext, viewer: Viewer, request_id: int) -> RequestView:
    with context.database.read_sessions() as session:
        return request_view(session, request_id=request_id, session_id=viewer.browser_session, rater_id=viewer.user_id)


def shown_state(view: RequestView) -> ShownRequest:
    return ShownRequest.of(view.request_id, [c.output_id for c in view.candidates])


def shown_text(candidate: CandidateView) -> str:
    """What the Text tab showed: a moderated candidate's text is replaced by a notice."""
    if candidate.moderation:
        return withheld_notice(candidate.moderation)
    return candidate.text or ""


def cut_answer(candidate: CandidateView) -> bool:
    """Whether the card offers Continue: its text was cut at the length limit and is shown."""
    return candidate.finish_reason == "length" and not candidate.moderation


def candidate_meta(candidate: CandidateView, view: RequestView) -> str:
    """The card's facts line as it read when the candidate was generated (playground/web/ui/
    text_tab.py), less the wait before the model started, which is not stored."""
    first = candidate.time_to_first_token_ms
    speed = [first_token_words(first, None)] if first is not None else []
    speed += [f"{candidate.tokens_per_s:.1f} tok/s"] if candidate.tokens_per_s is not None else []
    tokens = [f"{candidate.tokens} tokens"] if candidate.tokens is not None else []
    return " · ".join(
        [
            f"{candidate.latency_ms / 1000:.1f} s",
            *speed,
            *tokens,
            f"seed `{candidate.seed}`",
            answered_by(view.model_version, view.personal),
            finish_words(candidate.finish_reason),
        ]
    )


def show_request(context: AppContext, cards: list[CandidateCard], panel: SetPanel, view: RequestView) -> dict[Block, Any]:
    """Updates that show `view`'s candidates with this viewer's ratings, ready to be changed."""
    updates: dict[Block, Any] = {}
    count = len(view.candidates)
    for index, card in enumerate(cards):
        updates[card.column] = gr.Column(visible=index < count)
        if index < count:
            updates |= _card(context, card, view.candidates[index], view)
        if card.regenerate is not None:
            updates[card.regenerate] = gr.Button(interactive=index < count)
        if card.continue_answer is not None:  # under an answer cut at the length limit (card_continue.py)
            updates[card.continue_answer] = continue_update(index < count and cut_answer(view.candidates[index]))
    choices = [(f"Candidate {i + 1}", i) for i in range(count)]
    updates[panel.group] = gr.Group(visible=count > 1)
    updates[panel.diversity] = gr.Radio(value=view.diversity)
    updates[panel.best] = gr.Radio(choices=choices, value=view.best_index)
    updates[panel.saved] = ""
    return updates


def _card(context: AppContext, card: CandidateCard, candidate: CandidateView, view: RequestView) -> dict[Block, Any]:
    # 1. The content: text (rendered and raw) or the image file.
    is_image = view.modality == "image"
    image = str(context.settings.stored_file(candidate.image_path)) if is_image and candidate.image_path else None
    text = "" if is_image else shown_text(candidate)
    updates: dict[Block, Any] = {}
    if card.rendered is not None:  # the text's views, shaded by its stored confidence where it has one
        updates |= card.text_values(text, None if is_image else stored_confidence(candidate, context.moderator))
    if card.image is not None and card.image is not card.content:  # a history card shows either
        updates[card.image] = gr.Image(value=image, visible=is_image)
        updates |= {part: gr.update(value=value, visible=not is_image) for part, value in updates.items() if part in card.text_parts()}
    elif card.rendered is None:
        updates[card.content] = image
    # 2. This viewer's ratings, interactive so they can be changed.
    reason = parse_reason(candidate.reason if candidate.thumbs == -1 else candidate.flag_reason)
    detail = "" if not reason.chips and reason.detail == DEFAULT_FLAG_REASON else reason.detail
    return (
        updates
        | closed_about(card)
        | {
            card.meta: candidate_meta(candidate, view),
            card.naturalness: gr.Radio(value=candidate.naturalness, interactive=True),
            card.reliability: gr.Radio(value=candidate.reliability, interactive=True),
            card.thumbs: gr.Radio(value=candidate.thumbs, interactive=True),
            card.flag: gr.Checkbox(value=candidate.flagged, interactive=True),
            card.comment: gr.Textbox(value=candidate.comment or "", interactive=True),
            card.saved: "",
            card.why: gr.Group(visible=candidate.thumbs == -1 or candidate.flagged),
            card.reasons: list(reason.chips),
            card.reason_detail: detail,
        }
    )


def wire_restore(app: gr.Blocks, context: AppContext, modality: str, parts: TabParts) -> None:
    """On page load, show this browser's last `modality` request with its ratings."""

    # Gradio reads an empty dict as one missing value, so "nothing to restore" names one output.
    nothing: dict[Block, Any] = {parts.status: gr.skip()}

    def restore(request: gr.Request) -> dict[Block, Any]:
        with shown_to_user("restore your last request"):
            viewer = viewer_of(context, request)
            if viewer is None:
                return nothing
            with context.database.read_sessions() as session:
                request_id = last_request_id(session, session_id=viewer.browser_session, modality=modality)
            if request_id is None:
                return nothing
            view = settled_view(context, viewer, request_id)
            return {
                **show_request(context, parts.cards, parts.panel, view),
                parts.prompt: view.prompt,
                # The slider says how many cards show (as many as an interrupted request asked for),
                # so Generate asks for as many again. The other parameters keep the page's defaults
                # (a promoted version's learned temperature).
                parts.count: card_count(view),
                parts.shown: shown_state(view),
                parts.status: restored_status(view),
            }

    outputs = [parts.prompt, parts.count, parts.shown, parts.status, *rating_components(parts.cards, parts.panel)]
    app.load(restore, None, outputs, api_visibility="private", queue=False, show_progress="hidden")
