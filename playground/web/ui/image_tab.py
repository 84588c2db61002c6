"""The Image tab: prompt, negative prompt, steps, guidance, seed, N images with a progress bar
and previews, and ratings under each image."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import gradio as gr
from gradio.blocks import Block

from feedback_db.clean_text import clean_text
from models.base import ImageOutput, ImageParams
from playground.services.generation import stream_image
from playground.services.identity import Viewer
from playground.services.regeneration import stream_image_card
from playground.serving.context import AppContext
from playground.web.ui.candidates import MAX_CARDS, build_cards
from playground.web.ui.card_regenerate import CardJob, CardStream, FinishedCard
from playground.web.ui.content import Guidelines
from playground.web.ui.errors import shown_to_user
from playground.web.ui.image_words import build_word_chips
from playground.web.ui.inputs import parse_seed, seed_box
from playground.web.ui.personal_tuning import build_tuning
from playground.web.ui.regenerate import image_inputs, regenerate_all_button
from playground.web.ui.restore import TabParts
from playground.web.ui.session import client_of, unless_stopped
from playground.web.ui.state import ShownRequest
from playground.web.ui.streaming import finished_cards
from playground.web.ui.tab_wiring import wire_generation_tab
from playground.web.ui.typed_choices import TypedDropdown
from playground.web.ui.values import number, whole
from playground.web.ui.waiting import loading_update
from playground.web.ui.wording import finish_words

DEFAULTS = ImageParams()


def image_meta(output: ImageOutput, version_words: str) -> str:
    """A finished image's figures; `version_words` as `Recorded.version_words` says them."""
    return f"{output.latency_ms / 1000:.1f} s · seed `{output.seed}` · {version_words} · {finish_words(output.finish_reason)}"


def image_params(
    negative_value: str,
    n_value: float,
    steps_value: float,
    guidance_value: float,
    size_value: float,
    seed_value: str | None,
) -> ImageParams:
    """The tab's parameter inputs (in `inputs` order, after the prompt) -> checked ImageParams."""
    side = whole("Size", size_value, 1)
    return ImageParams(
        steps=whole("Steps", steps_value, 1),
        guidance_scale=number("Guidance", guidance_value),
        width=side,
        height=side,
        n=whole("Images", n_value, 1, MAX_CARDS),
        seed=parse_seed(seed_value),
        negative_prompt=clean_text(negative_value if isinstance(negative_value, str) else ""),
    ).validate()


def build_image_tab(context: AppContext, guidelines: Guidelines, examples: list[str], viewer: gr.State | None = None) -> TabParts:
    """`viewer` is unused: every event reads the caller from its cookie (playground/web/ui/session.py)."""
    shown = gr.State(None)
    # 1. Prompt and buttons.
    with gr.Row(equal_height=False, elem_classes="prompt-row"):
        with gr.Column(scale=4):
            prompt = gr.Textbox(
                label="Prompt",
                lines=2,
                elem_id="image-prompt",
                placeholder="Describe the picture…",
                info="Enter generates · Shift+Enter adds a new line",
            )
            negative = gr.Textbox(label="Negative prompt", lines=1, elem_id="image-negative", placeholder="What to avoid (optional)")
        with gr.Column(scale=1, min_width=180):
            n = gr.Slider(1, MAX_CARDS, value=2, step=1, label="Images", elem_id="image-n")
            with gr.Row():
                generate = gr.Button("Generate", variant="primary", elem_id="image-generate")
                stop = gr.Button("Stop", variant="stop", elem_id="image-stop")
    gr.Examples(examples, inputs=prompt, label="Examples")
    build_word_chips(context, prompt)
    # 2. Parameters, collapsed.
    with gr.Accordion("Parameters", open=False, elem_id="image-parameters"), gr.Row():
        steps = gr.Slider(1, 100, value=DEFAULTS.steps, step=1, label="Steps", elem_id="image-steps")
        guidance = gr.Slider(
            0,
            20,
            step=0.5,
            label="Guidance",
            elem_id="image-guidance",
            # Set on every page load (playground/web/ui/personal_tuning.py), as are the steps: the
            # person's own value where their ratings show one, else the active version's learned
            # default (docs/RETRAIN.md).
            value=DEFAULTS.guidance_scale,
        )
        size = TypedDropdown([256, 384, 512, 768, 1024], value=DEFAULTS.width, label="Size (px)")
        seed = seed_box("image", "blank = random; image i uses seed + i")
    # Every slider the person's own ratings may tune (playground/web/ui/personal_tuning.py).
    tuning = build_tuning("image", {"guidance_scale": guidance, "steps": steps})
    status = gr.Markdown(elem_id="image-status")
    regenerate_all = regenerate_all_button("image")
    # 3. One card per image, then the set panel.
    cards, panel = build_cards("image", guidelines)

    pending = gr.State(None)  # what `finish` puts on the cards once the images are done

    # `run` spells its parameters out: their names are the /generate_image API's parameter
    # names (Gradio reads them from this signature), and Gradio passes gr.Request only to a
    # positional parameter it finds by its annotation.
    def run(
        prompt_value: str,
        negative_value: str,
        n_value: float,
        steps_value: float,
        guidance_value: float,
        size_value: float,
        seed_value: str | None,
        request: gr.Request,
        progress: gr.Progress = gr.Progress(),
    ) -> Iterator[dict[Block, Any]]:
        with shown_to_user("generate images"):
            client = client_of(context, request)
            params = image_params(negative_value, n_value, steps_value, guidance_value, size_value, seed_value)
            context.generation_limits.take(client.key, client.ip)
            stopped: dict[Block, Any] = {status: "Stopped before it started."}
            if loading := loading_update(context, "image", status):
                yield loading
            yield from unless_stopped(
                context,
                client,
                stopped,
                lambda cancel: _stream(client.key, prompt_value, params, cancel, progress),
            )

    def _stream(
        client_key: str, prompt_value: str, params: ImageParams, cancel: threading.Event, progress: gr.Progress
    ) -> Iterator[dict[Block, Any]]:
        # Each update names only the images, the status and States (playground/web/ui/streaming.py).
        yield {shown: None, pending: None}
        for update in stream_image(context, None, prompt_value, params, cancel, client_key=client_key):
            if update.recorded is None:
                progress((update.step, update.total_steps), desc="Denoising", unit="steps")
                previews: dict[Block, Any] = {cards[i].content: image for i, image in enumerate(update.previews or [])}
                yield {**previews, status: f"Step {update.step} of {update.total_steps}…"}
                continue
            recorded = update.recorded
            done = f"Done · {recorded.version_words} · rate each image below."
            images: dict[Block, Any] = {cards[o.index].content: str(o.path) for o in update.outputs}
            yield {
                **images,
                shown: ShownRequest.of(recorded.request_id, recorded.output_ids),
                pending: finished_cards(params.n, [image_meta(o, recorded.version_words) for o in update.outputs], done),
                # The status says "Done" only once `finish` has made the cards ratable.
                status: "Saved · making the images ratable…",
            }

    def card_stream(pending_card: gr.State) -> CardStream:
        """A card's Regenerate (playground/web/ui/card_regenerate.py): its steps on the progress bar
        and in the status line, as for Generate, then the new image in that card only."""

        def stream(
            viewer: Viewer, job: CardJob, shown_value: ShownRequest, cancel: threading.Event, progress: gr.Progress
        ) -> Iterator[dict[Block, Any]]:
            card = cards[job.index]
            for update in stream_image_card(context, viewer, job.output_id, cancel):
                if update.recorded is None:
                    progress((update.step, update.total_steps), desc="Denoising", unit="steps")
                    preview: dict[Block, Any] = {card.content: update.previews[0]} if update.previews else {}
                    yield {**preview, status: f"Regenerating {job.words()}: step {update.step} of {update.total_steps}…"}
                    continue
                recorded, output = update.recorded, update.outputs[0]
                done = f"Done · {job.words()} regenerated · {recorded.version_words} · the old one stays in My history."
                yield {
                    card.content: str(output.path),
                    shown: shown_value.with_output(job.index, recorded.output_ids[0]),
                    pending_card: FinishedCard(job.index, image_meta(output, recorded.version_words), len(shown_value.output_ids), done),
                    status: "Saved · making the image ratable…",
                }

        return stream

    inputs = [prompt, negative, n, steps, guidance, size, seed]
    # The restore after a reload (playground.web.ui.restore) fills the returned parts.
    parts = wire_generation_tab(
        context,
        "image",
        prompt=prompt,
        count=n,
        triggers=[generate.click],
        stop=stop,
        inputs=inputs,
        regenerate_all=regenerate_all,
        regenerate_values=image_inputs,
        card_stream=card_stream,
        params_of=image_params,
        run=run,
        cards=cards,
        panel=panel,
        status=status,
        shown=shown,
        pending=pending,
    )
    parts.tuning = tuning  # wired with the page's load (playground/web/app.py)
    return parts
