"""Regenerate all: ask again with the shown request's prompt and parameters, and new random seeds,
as a new request that replaces every card.

The tab's "Regenerate all candidates" button. Its first step (un-queued) reads the shown request
from the database - only the caller's own - and fills the tab's inputs with its prompt and
parameters and a blank seed; the tab then runs its usual generation on those inputs, so limits,
validation, streaming and recording are the same as for Generate. A card's own Regenerate
replaces that card only (playground/web/ui/card_regenerate.py).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import gradio as gr
from gradio.blocks import BlockContext
from gradio.components import Component
from gradio.events import Dependency

from feedback_db.history import RequestView
from models.base import ImageParams, TextParams
from playground.core.errors import StaleRequestError
from playground.serving.context import AppContext
from playground.web.ui.errors import shown_to_user
from playground.web.ui.restore import load_view
from playground.web.ui.session import viewer_of
from playground.web.ui.state import ShownRequest, request_id_for

TEXT_DEFAULTS, IMAGE_DEFAULTS = TextParams(), ImageParams()


# A shown request -> the values of a tab's generation inputs (prompt first).
RequestValues = Callable[[RequestView], list[Any]]


def text_inputs(view: RequestView) -> list[Any]:
    """prompt, n, max new tokens, temperature, top-p, repetition penalty, seed, stop sequences."""
    p = view.parameters
    return [
        view.prompt,
        len(view.candidates),
        p.get("max_new_tokens", TEXT_DEFAULTS.max_new_tokens),
        p.get("temperature", TEXT_DEFAULTS.temperature),
        p.get("top_p", TEXT_DEFAULTS.top_p),
        p.get("repetition_penalty", TEXT_DEFAULTS.repetition_penalty),
        "",
        "\n".join(p.get("stop") or []),
    ]


def image_inputs(view: RequestView) -> list[Any]:
    """prompt, negative prompt, n, steps, guidance, size, seed."""
    p = view.parameters
    return [
        view.prompt,
        p.get("negative_prompt", ""),
        len(view.candidates),
        p.get("steps", IMAGE_DEFAULTS.steps),
        p.get("guidance_scale", IMAGE_DEFAULTS.guidance_scale),
        p.get("width", IMAGE_DEFAULTS.width),
        "",
    ]


def regenerate_all_button(kind: str) -> gr.Button:
    """A new request with the shown one's prompt and parameters, replacing every card."""
    label = "↻ Regenerate all candidates"
    return gr.Button(label, size="sm", variant="secondary", scale=0, min_width=200, elem_id=f"{kind}-regenerate-all")


def wire_regenerate_all(
    context: AppContext,
    button: gr.Button,
    shown: gr.State,
    inputs: Sequence[Component | BlockContext],
    values: RequestValues,
) -> Callable[..., Dependency]:
    """ "Regenerate all" fills `inputs` from the shown request; returns the fill event's `.success`
    trigger, for the tab to chain its generation to."""

    def fill(shown_value: ShownRequest | None, request: gr.Request) -> list[Any]:
        with shown_to_user("regenerate"):
            viewer = viewer_of(context, request)
            if viewer is None:
                raise StaleRequestError("there is nothing to regenerate yet: generate first")
            return values(load_view(context, viewer, request_id_for(shown_value)))

    return button.click(fill, shown, inputs, queue=False, api_visibility="private").success
