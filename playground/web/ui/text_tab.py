"""The Text tab: prompt, parameters, N candidates streaming side by side, ratings under each."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import gradio as gr
from gradio.blocks import Block

from models.base import TextOutput, TextParams
from playground.services.continuation import stream_text_continuation
from playground.services.generation import TextUpdate, stream_text
from playground.services.identity import Client, Viewer
from playground.services.regeneration import stream_text_card
from playground.serving.context import AppContext
from playground.web.ui.candidates import MAX_CARDS, CandidateCard, build_cards, raw_text_toggle
from playground.web.ui.card_continue import wire_card_continue
from playground.web.ui.card_regenerate import CardJob, CardStream, FinishedCard
from playground.web.ui.content import Guidelines
from playground.web.ui.errors import shown_to_user
from playground.web.ui.inputs import parse_seed, seed_box
from playground.web.ui.personal_tuning import build_tuning
from playground.web.ui.regenerate import regenerate_all_button, text_inputs
from playground.web.ui.restore import TabParts
from playground.web.ui.session import client_of, unless_stopped
from playground.web.ui.shading import shading_toggle
from playground.web.ui.state import ShownRequest
from playground.web.ui.streaming import finished_cards
from playground.web.ui.tab_wiring import wire_generation_tab
from playground.web.ui.values import number, whole
from playground.web.ui.waiting import first_token_words, loading_update
from playground.web.ui.wording import finish_words

DEFAULTS = TextParams()
# A card's one text: (context, viewer, output id, cancel) -> its updates (regenerate or continue).
CardTextService = Callable[[AppContext, Viewer, int, threading.Event | None], Iterator[TextUpdate]]


def text_meta(output: TextOutput, version_words: str, from_click_ms: float | None = None) -> str:
    """A finished candidate's figures; `version_words` as `Recorded.version_words` says them."""
    return (
        f"{output.latency_ms / 1000:.1f} s · {first_token_words(output.time_to_first_token_ms, from_click_ms)} · "
        f"{output.tokens_per_s:.1f} tok/s · {output.tokens} tokens · seed `{output.seed}` · "
        f"{version_words} · {finish_words(output.finish_reason)}"
    )


def parse_stop(text: str | None) -> tuple[str, ...]:
    """One stop sequence per line; blank lines ignored."""
    return tuple(line for line in (text or "").splitlines() if line.strip())


def text_params(
    n_value: float,
    max_tokens: float,
    temperature_value: float,
    top_p_value: float,
    penalty: float,
    seed_value: str | None,
    stop_value: str,
) -> TextParams:
    """The tab's parameter inputs (in `inputs` order, after the prompt) -> checked TextParams."""
    return TextParams(
        max_new_tokens=whole("Max new tokens", max_tokens, 1),
        temperature=number("Temperature", temperature_value),
        top_p=number("Top-p", top_p_value),
        repetition_penalty=number("Repetition penalty", penalty),
        stop=parse_stop(stop_value),
        n=whole("Candidates", n_value, 1, MAX_CARDS),
        seed=parse_seed(seed_value),
    ).validate()


def build_text_tab(context: AppContext, guidelines: Guidelines, examples: list[str], viewer: gr.State | None = None) -> TabParts:
    """`viewer` is unused: every event reads the caller from its cookie (playground/web/ui/session.py)."""
    shown = gr.State(None)  # ShownRequest | None
    # 1. Prompt, candidates and the buttons.
    with gr.Row(equal_height=False, elem_classes="prompt-row"):
        prompt = gr.Textbox(
            label="Prompt",
            placeholder="Ask or instruct the model…",
            lines=3,
            max_lines=12,
            info="Enter generates · Shift+Enter adds a new line",
            elem_id="text-prompt",
            scale=4,
            autofocus=True,
        )
        with gr.Column(scale=1, min_width=180):
            n = gr.Slider(1, MAX_CARDS, value=2, step=1, label="Candidates", elem_id="text-n")
            with gr.Row():
                generate = gr.Button("Generate", variant="primary", elem_id="text-generate")
                stop = gr.Button("Stop", variant="stop", elem_id="text-stop")
    gr.Examples(examples, inputs=prompt, label="Examples")
    # 2. Sampling parameters, collapsed.
    with gr.Accordion("Parameters", open=False, elem_id="text-parameters"):
        with gr.Row():
            max_new_tokens = gr.Slider(1, 1024, value=DEFAULTS.max_new_tokens, step=1, label="Max new tokens", elem_id="text-max-tokens")
            temperature = gr.Slider(
                0,
                2,
                step=0.05,
                label="Temperature",
                info="0 = greedy",
                elem_id="text-temperature",
                # Set on every page load (playground/web/ui/personal_tuning.py), as are top-p and
                # max new tokens: the person's own value where their ratings show one, else the
                # active version's learned default.
                value=DEFAULTS.temperature,
            )
            top_p = gr.Slider(0.05, 1, value=DEFAULTS.top_p, step=0.05, label="Top-p")
            repetition_penalty = gr.Slider(1, 2, value=DEFAULTS.repetition_penalty, step=0.05, label="Repetition penalty")
        with gr.Row():
            seed = seed_box("text", "blank = random; shown under each output")
            stop_sequences = gr.Textbox(label="Stop sequences", info="one per line", lines=2)
    # Every slider the person's own ratings may tune (playground/web/ui/personal_tuning.py).
    tuning = build_tuning("text", {"temperature": temperature, "top_p": top_p, "max_new_tokens": max_new_tokens})
    status = gr.Markdown(elem_id="text-status")
    with gr.Row(elem_classes="cards-tools"):
        raw_text_toggle("text")
        shading_toggle("text")
        regenerate_all = regenerate_all_button("text")
    # 3. The candidate cards and the set panel.
    cards, panel = build_cards("text", guidelines)

    pending = gr.State(None)  # what `finish` puts on the cards once the stream has ended

    # `run` spells its parameters out: their names are the /generate_text API's parameter
    # names (Gradio reads them from this signature), and Gradio passes gr.Request only to a
    # positional parameter it finds by its annotation.
    def run(
        prompt_value: str,
        n_value: float,
        max_tokens: float,
        temperature_value: float,
        top_p_value: float,
        penalty: float,
        seed_value: str | None,
        stop_value: str,
        request: gr.Request,
    ) -> Iterator[dict[Block, Any]]:
        with shown_to_user("generate"):
            started_at = time.monotonic()
            client = client_of(context, request)
            clicked = context.clicks.take(client.key, fallback=started_at)  # taken even if input is refused
            params = text_params(n_value, max_tokens, temperature_value, top_p_value, penalty, seed_value, stop_value)
            context.generation_limits.take(client.key, client.ip)
            stopped: dict[Block, Any] = {status: "Stopped before it started."}
            if loading := loading_update(context, "text", status):
                yield loading
            yield from unless_stopped(context, client, stopped, lambda cancel: _stream(client, prompt_value, params, cancel, clicked))

    def _stream(
        client: Client, prompt_value: str, params: TextParams, cancel: threading.Event, clicked: float
    ) -> Iterator[dict[Block, Any]]:
        # Each update names only the texts, the status and States (playground/web/ui/streaming.py).
        first_seen: dict[int, float] = {}  # candidate -> when its first text arrived
        # The status may still say the model is loading. Every card's text is named (blank, as
        # `begin` left it): a component left out of an update is rebuilt by Gradio.
        yield {shown: None, pending: None, **_texts(cards, TextUpdate(texts=[]))}
        for update in stream_text(context, None, prompt_value, params, cancel, client_key=client.key):
            now = time.monotonic()
            first_seen.update({i: now for i, text in enumerate(update.texts) if text and i not in first_seen})
            if update.recorded is None:
                yield {**_texts(cards, update), status: "Generating…"}
                continue
            recorded = update.recorded
            metas = [text_meta(o, recorded.version_words, _since(clicked, first_seen.get(o.index))) for o in update.outputs]
            cut = [_cut(o, reason) for o, reason in zip(update.outputs, update.withheld, strict=True)]
            yield {
                **_texts(cards, update),
                shown: ShownRequest.of(recorded.request_id, recorded.output_ids),
                pending: finished_cards(params.n, metas, _done_status(update.outputs, recorded.version_words), cut),
                # The status says "Done" only once `finish` has made the cards ratable.
                status: "Saved · making the candidates ratable…",
            }

    def card_stream(service: CardTextService, doing: str, done: str) -> Callable[[gr.State], CardStream]:
        """A card's Regenerate or Continue (playground/web/ui/card_regenerate.py, card_continue.py):
        the card's one text, from `service`, streams into that card only."""

        def with_pending(pending_card: gr.State) -> CardStream:
            def stream(
                viewer: Viewer, job: CardJob, shown_value: ShownRequest, cancel: threading.Event, progress: gr.Progress
            ) -> Iterator[dict[Block, Any]]:
                card = cards[job.index]
                for update in service(context, viewer, job.output_id, cancel):
                    text = update.texts[0] if update.texts else ""
                    contents = card.text_values(text, update.confidence[0] if update.confidence else None)
                    if update.recorded is None:
                        yield {**contents, status: f"{doing} {job.words()}…"}
                        continue
                    recorded, output = update.recorded, update.outputs[0]
                    words = f"Done · {job.words()} {done} · {recorded.version_words} · the old one stays in My history."
                    finished = FinishedCard(
                        job.index,
                        text_meta(output, recorded.version_words),
                        len(shown_value.output_ids),
                        words,
                        _cut(output, update.withheld[0]),
                    )
                    yield {
                        **contents,
                        shown: shown_value.with_output(job.index, recorded.output_ids[0]),
                        pending_card: finished,
                        status: "Saved · making the candidate ratable…",
                    }

            return stream

        return with_pending

    inputs = [prompt, n, max_new_tokens, temperature, top_p, repetition_penalty, seed, stop_sequences]
    # The restore after a reload (playground.web.ui.restore) fills the returned parts.
    parts = wire_generation_tab(
        context,
        "text",
        prompt=prompt,
        count=n,
        triggers=[generate.click, prompt.submit],
        stop=stop,
        inputs=inputs,
        regenerate_all=regenerate_all,
        regenerate_values=text_inputs,
        card_stream=card_stream(stream_text_card, "Regenerating", "regenerated"),
        params_of=text_params,
        run=run,
        cards=cards,
        panel=panel,
        status=status,
        shown=shown,
        pending=pending,
    )
    # Continue goes on with a cut answer: text cards only (playground/web/ui/card_continue.py).
    wire_card_continue(context, cards, panel, status, shown, card_stream(stream_text_continuation, "Continuing", "continued"))
    parts.tuning = tuning  # wired with the page's load (playground/web/app.py)
    return parts


def _since(clicked: float, at: float | None) -> float | None:
    return (at - clicked) * 1000 if at is not None else None


def _texts(cards: list[CandidateCard], update: TextUpdate) -> dict[Block, Any]:
    """A value for every view of every card's text (raw, Markdown, shaded by the tokens'
    confidence so far), "" for the unused ones: a card left out of an update would be rebuilt
    by Gradio as a prop update (playground/web/ui/streaming.py)."""
    values: dict[Block, Any] = {}
    for index, card in enumerate(cards):
        text = update.texts[index] if index < len(update.texts) else ""
        values |= card.text_values(text, update.confidence[index] if index < len(update.confidence) else None)
    return values


def _cut(output: TextOutput, withheld: str | None) -> bool:
    """Whether the card offers Continue: its answer was cut at the length limit, and is shown
    (the content filter's notice has no text to go on with)."""
    return output.finish_reason == "length" and withheld is None


def _done_status(outputs: list[TextOutput], version_words: str) -> str:
    stopped = any(o.finish_reason == "cancelled" for o in outputs)
    head = "Stopped by you" if stopped else "Done"
    return f"{head} · {version_words} · rate each candidate below; every click is saved."
