"""The line under a tab's parameters that says when its sampling knobs are tuned for this person
(playground/services/personal_defaults.py), with the one switch to use everyone's defaults instead.

"Tuned for you from 23 of your rated outputs: temperature 0.7 → 0.9, top-p 0.9 → 0.8 · [Use the
defaults]". On each page load every knob's slider starts from the person's own value when their
ratings show one and the switch is on (else from everyone's); the note names each tuned knob. The
request then stores the values it used, as for any value a person sets.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import gradio as gr
from gradio.blocks import Block

from playground.services.identity import Viewer
from playground.services.personal_defaults import PersonalDefaults, everyones_values, personal_defaults, switch_personal_defaults
from playground.serving.context import AppContext
from playground.web.ui.errors import shown_to_user
from playground.web.ui.session import viewer_of

# As the sliders are labelled.
KNOB_WORDS = {
    "temperature": "temperature",
    "top_p": "top-p",
    "max_new_tokens": "max new tokens",
    "guidance_scale": "guidance",
    "steps": "steps",
}


@dataclass(frozen=True)
class TuningParts:
    sliders: dict[str, gr.Slider]  # knob name -> its slider, for every knob the tab tunes
    note: gr.Markdown
    use_defaults: gr.Button
    tune_for_me: gr.Button


def build_tuning(modality: str, sliders: dict[str, gr.Slider]) -> TuningParts:
    """The note and its two buttons, hidden until a page load finds something to say."""
    with gr.Row(elem_classes="tuning-row", elem_id=f"{modality}-tuning"):
        note = gr.Markdown(visible=False, elem_id=f"{modality}-tuning-note", elem_classes="meta")
        use_defaults = gr.Button("Use the defaults", size="sm", visible=False, elem_id=f"{modality}-use-defaults")
        tune_for_me = gr.Button("Tune for me", size="sm", visible=False, elem_id=f"{modality}-tune-for-me")
    return TuningParts(sliders, note, use_defaults, tune_for_me)


def tuning_words(tuned: PersonalDefaults) -> str:
    """What the note says: each learned knob's value against everyone's, and from how many ratings."""
    ratings = f"{tuned.rated_outputs} of your rated outputs"
    if tuned.applies:
        changes = ", ".join(f"{_word(k.knob)} {k.global_value:g} → {k.value:g}" for k in tuned.learned)
        return f"**Tuned for you** from {ratings}: {changes}"
    suggested = ", ".join(f"{_word(k.knob)} {k.value:g}" for k in tuned.learned)
    defaults = ", ".join(f"{_word(k.knob)} {k.global_value:g}" for k in tuned.learned)
    return f"Your ratings suggest {suggested} (from {ratings}); you use the defaults ({defaults})."


def tuning_updates(parts: TuningParts, tuned: PersonalDefaults) -> dict[Block, Any]:
    """Every slider at the value this person is served, and the note and buttons saying why."""
    # 1. The sliders: the person's value where learned and switched on, else everyone's.
    served = tuned.served
    sliders: dict[Block, Any] = {slider: _within(slider, served[knob]) for knob, slider in parts.sliders.items() if knob in served}
    # 2. Nothing learned: nothing to say.
    if not tuned.learned:
        return {
            **sliders,
            parts.note: gr.Markdown(visible=False),
            parts.use_defaults: gr.Button(visible=False),
            parts.tune_for_me: gr.Button(visible=False),
        }
    # 3. The note, and the switch's button that applies now.
    return {
        **sliders,
        parts.note: gr.Markdown(tuning_words(tuned), visible=True),
        parts.use_defaults: gr.Button(visible=tuned.applies),
        parts.tune_for_me: gr.Button(visible=not tuned.applies),
    }


def _word(knob: str) -> str:
    return KNOB_WORDS.get(knob, knob)


def _within(slider: gr.Slider, value: float) -> float:
    """`value` inside the slider's range: a value learned from API requests (max new tokens
    2048) may lie beyond what the slider offers, and the request takes what the slider shows."""
    return min(max(value, float(slider.minimum)), float(slider.maximum))


def wire_tuning(app: gr.Blocks, context: AppContext, modality: str, parts: TuningParts) -> None:
    """On page load, start each knob from the person's own value; the buttons switch all off and on.

    This load is the only setter of the knobs' values on load: a slider's own callable value (the
    active version's learned default, as it was) would race it."""
    outputs = [parts.note, parts.use_defaults, parts.tune_for_me, *parts.sliders.values()]
    common: dict[str, Any] = {"api_visibility": "private", "queue": False, "show_progress": "hidden"}

    def served_to(viewer: Viewer | None) -> PersonalDefaults:
        if viewer is None:  # a browser that has not generated yet: everyone's value
            return PersonalDefaults.nothing_learned(modality, everyones_values(context, modality))
        return personal_defaults(context, viewer, modality)

    def on_load(request: gr.Request) -> dict[Block, Any]:
        with shown_to_user("read your tuned defaults"):
            return tuning_updates(parts, served_to(viewer_of(context, request)))

    def switch(on: bool) -> Callable[[gr.Request], dict[Block, Any]]:
        def handler(request: gr.Request) -> dict[Block, Any]:
            with shown_to_user("change your tuned defaults"):
                viewer = viewer_of(context, request)
                if viewer is not None:
                    switch_personal_defaults(context, viewer, on)
                return tuning_updates(parts, served_to(viewer))

        return handler

    app.load(on_load, None, outputs, **common)
    parts.use_defaults.click(switch(False), None, outputs, **common)
    parts.tune_for_me.click(switch(True), None, outputs, **common)
