"""Regenerate under a card: that card alone gets a new candidate - the same request, prompt,
parameters and model version, a new seed - streamed like a normal candidate; the other cards and
their ratings stay as they are. The old output stays in the database with its ratings and is
listed in My history (playground/services/regeneration.py, feedback_db/replacements.py).

The chain mirrors a tab's Generate (playground/web/ui/streaming.py):
1. `begin` (un-queued, at the click) checks the click - a candidate of the caller's on screen,
   not already replaced, no generation of theirs running - and clears that card, or says in the
   status line why not and stops the chain there (`gate`);
2. `run` (the models queue) streams into that card only (the tab's `CardStream`);
3. `finish` (un-queued) puts the card's facts line and makes its ratings live again.

A best pick naming the replaced candidate is cleared on screen (a new pick names the new one);
the stored pick stays until the user picks again. The diversity score stays: it rates how varied
the same prompt and parameters make the answers.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, cast

import gradio as gr
from gradio.blocks import Block

from models.base import Modality
from playground.core.errors import GenerationRunningError, StaleRequestError
from playground.services.identity import Viewer
from playground.services.regeneration import card_target
from playground.serving.context import AppContext
from playground.web.ui.candidates import (
    CandidateCard,
    SetPanel,
    continue_updates,
    enable_ratings,
    rating_components,
    reset_for_new_request,
)
from playground.web.ui.errors import USER_ERRORS, shown_to_user
from playground.web.ui.session import clear_stop, client_of, unless_stopped, viewer_of
from playground.web.ui.state import ShownRequest, output_id_for
from playground.web.ui.streaming import PRIVATE_STEP, refused_words
from playground.web.ui.waiting import loading_update


@dataclass(frozen=True)
class CardJob:
    """The card a click regenerates, and the output it showed then."""

    index: int
    output_id: int

    def words(self) -> str:
        return f"Candidate {self.index + 1}"


@dataclass(frozen=True)
class FinishedCard:
    """What `finish` puts on the regenerated card: the stream's last update leaves it in a State."""

    index: int
    meta: str
    shown_cards: int
    status: str
    cut: bool = False  # the new answer was cut at the length limit: the card offers Continue


# The tab's stream for one card: (viewer, job, the shown request, cancel, progress) -> updates
# naming only that card's contents, the status and the two States (`shown`, the card's pending
# FinishedCard). `progress` is the event's progress bar, for the denoising steps of an image.
CardStream = Callable[[Viewer, CardJob, ShownRequest, threading.Event, gr.Progress], Iterator[dict[Block, Any]]]


def wire_card_regenerate(
    context: AppContext,
    modality: Modality,
    cards: list[CandidateCard],
    panel: SetPanel,
    status: gr.Markdown,
    shown: gr.State,
    stream: Callable[[gr.State], CardStream],
) -> None:
    """Chain begin -> gate -> run -> finish after each card's Regenerate. `stream(pending)` is the
    tab's CardStream, given the State its last update fills."""
    buttons = {index: card.regenerate for index, card in enumerate(cards) if card.regenerate is not None}
    chain_card_buttons(context, modality, buttons, begin_handler, cards, panel, status, shown, stream)


# `begin_of(context, index, cards, panel, status, job, pending)`: a button's first step.
BeginOf = Callable[[AppContext, int, list[CandidateCard], SetPanel, gr.Markdown, gr.State, gr.State], Callable[..., dict[Block, Any]]]


def chain_card_buttons(
    context: AppContext,
    modality: Modality,
    buttons: dict[int, gr.Button],
    begin_of: BeginOf,
    cards: list[CandidateCard],
    panel: SetPanel,
    status: gr.Markdown,
    shown: gr.State,
    stream: Callable[[gr.State], CardStream],
    action: str = "regenerate the candidate",
) -> None:
    """The one-card chain after each button (card index -> button): `begin_of`'s begin, then
    gate -> run (`stream`, in the models queue) -> finish. Regenerate and Continue share it."""
    job, pending = gr.State(None), gr.State(None)
    card_stream = stream(pending)
    finish = finish_handler(cards, status)
    for index, button in buttons.items():
        card = cards[index]
        contents = card.text_parts() or [card.content]
        button.click(
            begin_of(context, index, cards, panel, status, job, pending),
            [shown, panel.best],
            [*rating_components(cards, panel), status, job, pending],
            **PRIVATE_STEP,
        ).then(gate, job, None, **PRIVATE_STEP).success(
            run_handler(context, modality, status, card_stream, action),
            [job, shown],
            [shown, pending, status, *contents],
            api_visibility="private",
            concurrency_id="models",
            concurrency_limit=context.settings.gpu_concurrency,
            show_progress_on=[status],
        ).then(finish, pending, [*rating_components(cards, panel), status], **PRIVATE_STEP)


def checked_job(context: AppContext, index: int, shown: ShownRequest | None, request: gr.Request) -> CardJob:
    """The click's card, if it may be regenerated now; otherwise the reason, as an error."""
    viewer = viewer_of(context, request)
    if viewer is None:
        raise StaleRequestError("there is nothing to regenerate yet: generate first")
    output_id = output_id_for(shown, index)
    if context.stops.running(client_of(context, request).key):
        raise GenerationRunningError("a generation is still running: wait until it is done (or press Stop), then regenerate")
    card_target(context, viewer, output_id)  # the caller's own, and not already replaced
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
    """`begin(shown, best)`: clear card `index` and hold every Regenerate and Continue until it is
    done, or put the reason for refusing in the status line and change nothing else."""

    def begin(shown_value: ShownRequest | None, best: Any, request: gr.Request) -> dict[Block, Any]:
        # 1. May this card be regenerated now? If not, say why where the eye already is.
        try:
            job = checked_job(context, index, shown_value, request)
        except USER_ERRORS as error:
            return {status: refused_words(str(error)), job_state: None}
        # 2. An old Stop must not stop this run; its first-token time counts from this click.
        client = client_of(context, request)
        context.clicks.mark(client.key)
        clear_stop(context, client)
        # 3. Every card's buttons held, the card cleared (its Continue hidden), and a best pick of
        #    the old candidate cleared.
        updates = held_buttons(cards) | cleared_card(cards[index], panel)
        if best == index:
            updates[panel.best] = gr.Radio(value=None)
        return {**updates, status: f"Regenerating {job.words()}…", job_state: job, pending: None}

    return begin


def held_buttons(cards: list[CandidateCard]) -> dict[Block, Any]:
    """Every card's Regenerate and Continue off while one card changes (`finish` turns them on)."""
    return {button: gr.Button(interactive=False) for card in cards for button in card.buttons()}


def cleared_card(card: CandidateCard, panel: SetPanel) -> dict[Block, Any]:
    """Card `card` empty, its ratings cleared and off, as for a new request; the set panel as it is."""
    updates = reset_for_new_request([card], panel, 1)
    for part in (panel.group, panel.diversity, panel.best, panel.saved):
        updates.pop(part)
    return updates


def gate(job: CardJob | None) -> None:
    """Stop the chain before `run` when `begin` refused (it has said why)."""
    if job is None:
        raise gr.Error("nothing to regenerate", visible=False, print_exception=False)


def run_handler(
    context: AppContext, modality: Modality, status: gr.Markdown, stream: CardStream, action: str = "regenerate the candidate"
) -> Callable[..., Iterator[dict[Block, Any]]]:
    """`run(job, shown)`: the card's stream, under the same limits and Stop as a Generate.
    `action` names what it does in its messages (card_continue.py continues the answer)."""

    def run(
        job: CardJob | None, shown_value: ShownRequest | None, request: gr.Request, progress: gr.Progress = gr.Progress()
    ) -> Iterator[dict[Block, Any]]:
        with shown_to_user(action):
            client = client_of(context, request)
            viewer = viewer_of(context, request)
            # A new request took the cards while this waited in the queue: nothing to replace.
            if job is None or viewer is None or shown_value is None or job.output_id not in shown_value.output_ids:
                yield {status: f"Did not {action}: the cards show another request now."}
                return
            context.generation_limits.take(client.key, client.ip)
            if loading := loading_update(context, modality, status):
                yield loading
            stopped: dict[Block, Any] = {status: "Stopped before it started."}
            yield from unless_stopped(context, client, stopped, lambda cancel: stream(viewer, job, shown_value, cancel, progress))

    return run


def finish_handler(cards: list[CandidateCard], status: gr.Markdown) -> Callable[[FinishedCard | None], dict[Block, Any]]:
    def finish(finished: FinishedCard | None) -> dict[Block, Any]:
        if finished is None:  # stopped before it started, or refused: the run said why
            return cast(dict[Block, Any], gr.skip())
        return {
            cards[finished.index].meta: finished.meta,
            **enable_ratings(cards, finished.shown_cards),
            **continue_updates(cards, {finished.index: finished.cut}),
            status: finished.status,
        }

    return finish
