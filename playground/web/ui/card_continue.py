"""Continue under a card whose answer was cut at the length limit: the model goes on from where
it stopped, and that card alone grows - the old text stays on screen and the new words stream
after it; the other cards and their ratings stay as they are. The whole answer is a new output in
the card's place; the old one stays in the database with its ratings and in My history
(playground/services/continuation.py).

The chain is a card's Regenerate's (playground/web/ui/card_regenerate.py), whose `gate`, `run`
and `finish` it shares:
1. `begin` (un-queued, at the click) checks the click - a cut answer of the caller's on screen,
   not already replaced, no generation of theirs running - takes the card's ratings off (they
   belong to the old answer) and keeps its text, or says in the status line why not;
2. `run` (the models queue) streams the whole answer into that card only;
3. `finish` (un-queued) puts the card's facts line, makes its ratings live again and shows
   Continue once more if the longer answer was cut too.

Continue is shown only under a cut answer (`candidates.continue_update`): after a Generate or a
Regenerate (their `finish`), and after a reload (playground/web/ui/restore.py).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import gradio as gr
from gradio.blocks import Block

from playground.core.errors import GenerationRunningError, StaleRequestError
from playground.services.continuation import continuation_target
from playground.serving.context import AppContext
from playground.web.ui.candidates import CandidateCard, SetPanel
from playground.web.ui.card_regenerate import CardJob, CardStream, chain_card_buttons, cleared_card, held_buttons
from playground.web.ui.errors import USER_ERRORS
from playground.web.ui.session import clear_stop, client_of, viewer_of
from playground.web.ui.state import ShownRequest, output_id_for
from playground.web.ui.streaming import refused_words

ACTION = "continue the answer"


def wire_card_continue(
    context: AppContext,
    cards: list[CandidateCard],
    panel: SetPanel,
    status: gr.Markdown,
    shown: gr.State,
    stream: Callable[[gr.State], CardStream],
) -> None:
    """Chain begin -> gate -> run -> finish after each card's Continue (the Regenerate chain's,
    card_regenerate.chain_card_buttons). `stream(pending)` is the tab's stream of the continued
    answer, given the State its last update fills."""
    buttons = {index: card.continue_answer for index, card in enumerate(cards) if card.continue_answer is not None}
    chain_card_buttons(context, "text", buttons, begin_handler, cards, panel, status, shown, stream, ACTION)


def checked_job(context: AppContext, index: int, shown: ShownRequest | None, request: gr.Request) -> CardJob:
    """The click's card, if its answer may be continued now; otherwise the reason, as an error."""
    viewer = viewer_of(context, request)
    if viewer is None:
        raise StaleRequestError("there is nothing to continue yet: generate first")
    output_id = output_id_for(shown, index)
    if context.stops.running(client_of(context, request).key):
        raise GenerationRunningError("a generation is still running: wait until it is done (or press Stop), then continue")
    continuation_target(context, viewer, output_id)  # the caller's own, current, and cut at the length limit
    return CardJob(index, output_id)


def begin_handler(
    context: AppContext,
    index: int,
    cards: list[CandidateCard],
    panel: SetPanel,
    status: gr.Markdown,
    job_state: gr.State,
    pending: gr.State,
) -> Callable[..., dict[Block, Any]]:
    """`begin(shown, best)`: take card `index`'s ratings off, keep its text, and hold every
    Regenerate and Continue until it is done; or say why not in the status line."""

    def begin(shown_value: ShownRequest | None, best: Any, request: gr.Request) -> dict[Block, Any]:
        # 1. May this answer be continued now? If not, say why where the eye already is.
        try:
            job = checked_job(context, index, shown_value, request)
        except USER_ERRORS as error:
            return {status: refused_words(str(error)), job_state: None}
        # 2. An old Stop must not stop this run; its first-token time counts from this click.
        client = client_of(context, request)
        context.clicks.mark(client.key)
        clear_stop(context, client)
        # 3. The card as for a new candidate but with its text (the stream goes on from it), every
        #    button held, and a best pick of the old answer cleared (a new pick names the new one).
        card = cards[index]
        updates = held_buttons(cards) | cleared_card(card, panel)
        for content in card.text_parts():
            updates.pop(content)
        if best == index:
            updates[panel.best] = gr.Radio(value=None)
        return {**updates, status: f"Continuing {job.words()}…", job_state: job, pending: None}

    return begin
