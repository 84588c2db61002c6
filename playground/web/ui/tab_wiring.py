"""What the Text and Image tabs wire alike once their components exist: Regenerate all, each
card's Regenerate, Stop, the begin -> run -> finish chain of a generation, saving each rating, and
the API endpoints."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import gradio as gr
from gradio.blocks import BlockContext
from gradio.components import Component
from gradio.events import Dependency

from models.base import Modality
from playground.serving.context import AppContext
from playground.web.ui.about import wire_about
from playground.web.ui.candidates import CandidateCard, SetPanel
from playground.web.ui.card_ratings import wire_card, wire_set_panel
from playground.web.ui.card_regenerate import CardStream, wire_card_regenerate
from playground.web.ui.rating_api import wire_rating_api
from playground.web.ui.regenerate import RequestValues, wire_regenerate_all
from playground.web.ui.restore import TabParts
from playground.web.ui.session import wire_stop
from playground.web.ui.streaming import chain_generation


def wire_generation_tab(
    context: AppContext,
    modality: Modality,
    *,
    prompt: gr.Textbox,
    count: gr.Slider,
    triggers: list[Callable[..., Dependency]],
    stop: gr.Button,
    inputs: Sequence[Component | BlockContext],
    regenerate_all: gr.Button,
    regenerate_values: RequestValues,
    card_stream: Callable[[gr.State], CardStream],
    params_of: Callable[..., Any],
    run: Callable[..., Any],
    cards: list[CandidateCard],
    panel: SetPanel,
    status: gr.Markdown,
    shown: gr.State,
    pending: gr.State,
) -> TabParts:
    """1. Regenerate all fills `inputs` from the shown request; 2. each trigger (and Regenerate all)
    clears an old Stop, then runs the generation chain (`/generate_<modality>`, `/stop_<modality>`);
    3. a card's Regenerate replaces that card only (`card_stream`); 4. every rating widget saves
    on change; 5. `/rate_<modality>` and friends for API callers.
    Returns what the restore after a reload fills in."""
    again = wire_regenerate_all(context, regenerate_all, shown, inputs, regenerate_values)
    events = wire_stop(context, [*triggers, again], stop, status, f"stop_{modality}")
    chain_generation(
        events,
        f"generate_{modality}",
        params_of=params_of,
        run=run,
        inputs=inputs,
        cards=cards,
        panel=panel,
        status=status,
        shown=shown,
        pending=pending,
        concurrency_limit=context.settings.gpu_concurrency,
        moderator=context.moderator,
    )
    wire_card_regenerate(context, modality, cards, panel, status, shown, card_stream)
    for index, card in enumerate(cards):
        wire_card(card, index, context, shown)
        wire_about(card, index, context, shown)
    wire_set_panel(panel, context, shown)
    wire_rating_api(modality, context, shown)
    return TabParts(prompt, count, shown, status, cards, panel)
