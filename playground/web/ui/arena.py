"""The Arena tab: one prompt, two anonymous answers "A" and "B", one vote, then the names.

Layout only wires `playground.services.arena`. The page state holds the battle id and nothing else;
which versions answered stays in the database until the vote is in. The vote buttons are
enabled once both answers have finished, and the server refuses an early or second vote anyway.
While a modality has one version, a battle pits two sampling presets of it against each other:
the intro and the reveal say so, or the page would read as one model beaten by itself. A battle
of the viewer's own personal version against the global one says "your version" in its reveal
(the intro is the same for everyone, so it tells nobody whether anyone has one).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import gradio as gr
from gradio.blocks import Block

from playground.core.errors import StaleRequestError
from playground.services.arena import (
    PRESETS,
    SIDES,
    Reveal,
    abandon_battle,
    compares_presets,
    start_battle,
    stream_battle,
    validate_battle,
    vote,
)
from playground.services.identity import Viewer, find_viewer, viewer_for_token
from playground.serving.context import AppContext
from playground.web.ui.errors import shown_to_user
from playground.web.ui.session import client_of

VOTES = (("a", "← A is better"), ("b", "B is better →"), ("tie", "Tie"), ("both_bad", "Both bad"))
YOURS_REVEAL = (
    "**Your version against everyone's:** one side was your own version, the other the version everyone "
    "is served. If your votes show yours clearly worse, you are served everyone's version again."
)
OUTCOME_WORDS = {"a": "A is better", "b": "B is better", "tie": "a tie", "both_bad": "both bad"}
YOURS_INTRO = (
    "Once you have a version of your own (trained on your ratings), some of your battles pit it against "
    "the version everyone is served: your votes there decide whether you keep it."
)
VERSIONS_INTRO = (
    "Two model versions answer the same prompt as **A** and **B**, in random order. "
    "Vote for the better one; the names are shown after your vote. "
    "Votes decide which version is served next. " + YOURS_INTRO
)
PRESETS_INTRO = (
    "**A preset battle:** only one {modality} model version is published yet, so the arena compares two of its "
    "**sampling presets**: the same version answers the prompt twice, as **A** and **B** in random order, once "
    "with each preset (such as `{low}` against `{high}`). Vote for the better answer; the presets are shown after "
    "your vote. Votes choose the version's default sampling settings. " + YOURS_INTRO
)


@dataclass(frozen=True)
class BattleOnScreen:
    """The page's server-side state in the arena: which battle is on screen (its versions stay
    in the database until the vote reveals them)."""

    battle_id: int


def build_arena_tab(context: AppContext) -> None:
    battle = gr.State(None)  # BattleOnScreen | None: the id only, never a version name
    # 1. What is compared, the prompt and the battle button (Enter clicks it: assets/playground.js).
    # A callable value is read on every page load: a newly published version ends the preset battles.
    intro = gr.Markdown(lambda: intro_markdown(context, "text"), elem_id="arena-intro")
    with gr.Row(equal_height=False):
        prompt = gr.Textbox(
            label="Prompt",
            lines=2,
            max_lines=8,
            scale=4,
            info="Enter starts a battle · Shift+Enter adds a new line",
            elem_id="arena-prompt",
            placeholder="Ask something, or describe a picture…",
        )
        with gr.Column(scale=1, min_width=180):
            modality = gr.Radio([("Text", "text"), ("Image", "image")], value="text", label="Battle of", elem_id="arena-modality")
            start = gr.Button("New battle", variant="primary", elem_id="arena-start")
    status = gr.Markdown(elem_id="arena-status")
    # 2. The two sides. Answers render as Markdown, as in the Text tab; Gradio sanitizes its HTML
    #    (sanitize_html), so markup in a model's answer is shown, never run.
    texts: dict[str, gr.Markdown] = {}
    images: dict[str, gr.Image] = {}
    with gr.Row(equal_height=True, elem_classes="cards"):
        for side in SIDES:
            with gr.Column(min_width=260, elem_id=f"arena-{side}", elem_classes="card"):
                gr.Markdown(f"**{side.upper()}**", elem_id=f"arena-{side}-name")  # a Markdown shows no label
                texts[side] = gr.Markdown(
                    container=True,
                    buttons=["copy"],
                    sanitize_html=True,
                    min_height=240,
                    max_height=560,
                    elem_id=f"arena-{side}-text",
                    elem_classes="rendered-output",
                )
                images[side] = gr.Image(
                    label=side.upper(),
                    interactive=False,
                    height=256,
                    visible=False,
                    buttons=["fullscreen"],  # no Spaces-only "share"
                    format="png",
                    elem_id=f"arena-{side}-image",
                )
    # 3. The vote, then the reveal.
    reason = gr.Textbox(label="Why? (optional)", max_lines=2, max_length=500, elem_id="arena-reason")
    with gr.Row():
        buttons = {outcome: gr.Button(label, interactive=False, elem_id=f"arena-vote-{outcome}") for outcome, label in VOTES}
    revealed = gr.Markdown(elem_id="arena-reveal")

    def enable(on: bool) -> dict[Block, Any]:
        return {button: gr.Button(interactive=on) for button in buttons.values()}

    def fight(modality_value: str, prompt_value: str, request: gr.Request) -> Iterator[dict[Block, Any]]:
        with shown_to_user("start a battle"):
            # 1. Who is asking: the caller's cookie, never Gradio's session_hash; a new browser's
            #    identity row is written only once the request is known to be valid.
            client = client_of(context, request)
            viewer_value = find_viewer(context.database, client.key)
            if viewer_value is None:
                validate_battle(context, modality_value, prompt_value)
                viewer_value = viewer_for_token(context.database, client.key)
            context.generation_limits.take(client.key, client.ip)
            battle_id = start_battle(context, viewer_value, modality_value, prompt_value)
            finished = False
            try:
                yield from play(battle_id, viewer_value, modality_value == "image")
                finished = True
            finally:
                # Stopped, disconnected, failed, or a direct API call that returns after the first
                # update; a finished battle costs no extra write transaction here.
                if not finished:
                    abandon_battle(context, battle_id)

    def play(battle_id: int, viewer_value: Viewer, is_image: bool) -> Iterator[dict[Block, Any]]:
        yield {
            battle: BattleOnScreen(battle_id),
            revealed: "",
            reason: "",
            status: "Generating **A**…",
            **enable(False),
            **{texts[s]: gr.Markdown(value="", visible=not is_image) for s in SIDES},
            **{images[s]: gr.Image(value=None, visible=is_image) for s in SIDES},
        }
        for update in stream_battle(context, viewer_value, battle_id):
            label = update.side.upper()
            if is_image:
                progress = f"Drawing **{label}**: step {update.step}/{update.total_steps}"
                yield {images[update.side]: update.image, status: progress} if update.done else {status: progress}
            else:
                yield {texts[update.side]: update.text, status: f"Generating **{label}**…"}
        yield {status: "Both answers are in: which is better?", **enable(True)}

    def caster(outcome: str) -> Callable[[BattleOnScreen | None, str, gr.Request], dict[Block, Any]]:
        # A closure, not functools.partial: Gradio finds the gr.Request parameter by signature.
        def cast_vote(battle_value: BattleOnScreen | None, reason_value: str, request: gr.Request) -> dict[Block, Any]:
            return cast(outcome, battle_value, reason_value, request)

        return cast_vote

    def cast(outcome: str, battle_value: BattleOnScreen | None, reason_value: str, request: gr.Request) -> dict[Block, Any]:
        with shown_to_user("vote"):
            viewer_value = find_viewer(context.database, client_of(context, request).key)
            if viewer_value is None or battle_value is None:
                raise StaleRequestError("start a battle first, then vote")
            result = vote(context, viewer_value, battle_value.battle_id, outcome, reason_value)
            return {revealed: reveal_markdown(result), status: "✓ Vote saved. Click **New battle** for another.", **enable(False)}

    sides_out = [texts[s] for s in SIDES] + [images[s] for s in SIDES]
    start.click(
        fight,
        [modality, prompt],
        [battle, revealed, reason, status, *buttons.values(), *sides_out],
        api_name="arena_battle",
        concurrency_id="models",
        concurrency_limit=context.settings.gpu_concurrency,
        show_progress_on=[status],
    )
    modality.change(
        lambda modality_value: intro_markdown(context, modality_value),
        modality,
        intro,
        api_visibility="private",
        queue=False,
        show_progress="hidden",
    )
    for outcome, button in buttons.items():
        button.click(
            caster(outcome),
            [battle, reason],
            [revealed, status, *buttons.values()],
            api_name=f"arena_vote_{outcome}",
            concurrency_id="arena",
            concurrency_limit=8,
            show_progress="hidden",
        )


def intro_markdown(context: AppContext, modality: str) -> str:
    """What a battle of `modality` compares now: two versions, or two sampling presets of one."""
    if not compares_presets(context, modality):
        return VERSIONS_INTRO
    low, *_, high = PRESETS[modality]
    return PRESETS_INTRO.format(modality=modality, low=low, high=high)


def reveal_markdown(result: Reveal) -> str:
    lines = [f"**You voted: {OUTCOME_WORDS[result.outcome]}.**", ""]
    if result.yours_against_global:
        lines += [YOURS_REVEAL, ""]
    if result.compares_presets:
        version = result.sides["a"]
        lines += [
            f"A **preset battle**: the same version, `{version.contestant.version}` ({version.status}), "
            "answered both sides, each with its own sampling preset.",
            "",
        ]
    for side in SIDES:
        revealed = result.sides[side]
        figures = []
        if revealed.latency_ms is not None:
            figures.append(f"{revealed.latency_ms / 1000:.1f} s")
        if revealed.tokens is not None:
            figures.append(f"{revealed.tokens} tokens")
        figures_words = " · " + " · ".join(figures) if figures else ""
        if result.compares_presets:
            lines.append(f"- **{side.upper()}** used `{revealed.contestant.preset}`{figures_words}")
            continue
        if revealed.yours:
            lines.append(f"- **{side.upper()}** was **your version**, trained on your own ratings ({revealed.status}){figures_words}")
            continue
        preset = f" with sampling preset `{revealed.contestant.preset}`" if revealed.contestant.preset else ""
        lines.append(f"- **{side.upper()}** was `{revealed.contestant.version}`{preset} ({revealed.status}){figures_words}")
    lines += ["", "See the **Leaderboard** tab for the standings."]
    return "\n".join(lines)
