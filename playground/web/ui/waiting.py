"""What the page says while people wait: the warm-up banner, the model-loading notice, and the
time to the first token counted from the click."""

from __future__ import annotations

from typing import Any

import gradio as gr
from gradio.blocks import Block

from models.base import Modality
from playground.serving.context import AppContext

BANNER_REFRESH_S = 1.0


def build_warmup_banner(app: gr.Blocks, context: AppContext) -> gr.Markdown:
    """A line under the header saying which models are still loading; it refreshes every second
    until warm-up is over (or was never started), then stops asking the server."""
    banner = gr.Markdown(elem_id="warmup", elem_classes="warmup")
    timer = gr.Timer(BANNER_REFRESH_S, active=False)

    def refresh() -> tuple[str, gr.Timer]:
        warmup = context.warmup
        text = warmup.banner()
        return text, gr.Timer(active=warmup.started and not warmup.ready())

    # show_progress="hidden" only makes the banner's progress timer ("0.8s") transparent: it is still
    # written into the banner every second (read aloud, copied with the text). Its progress goes
    # to the Timer instead, which is never drawn.
    gr.on(
        [app.load, timer.tick],
        refresh,
        outputs=[banner, timer],
        api_visibility="private",
        queue=False,
        show_progress="hidden",
        show_progress_on=[timer],
    )
    return banner


def loading_update(context: AppContext, modality: Modality, status: gr.Markdown) -> dict[Block, Any]:
    """A status update saying the model is still loading, or nothing when it is ready."""
    notice = context.warmup.loading_notice(modality)
    return {status: notice} if notice else {}


def first_token_words(model_ms: float, from_click_ms: float | None) -> str:
    """'first token 40.2 s after your click (model 506 ms)'; the model's own figure alone when
    the wait around it was negligible or unknown (API calls have no click)."""
    model = _duration(model_ms)
    if from_click_ms is None or from_click_ms - model_ms < 1000:
        return f"first token {model}"
    return f"first token {_duration(from_click_ms)} after your click (model {model})"


def _duration(ms: float) -> str:
    return f"{ms:.0f} ms" if ms < 1000 else f"{ms / 1000:.1f} s"
