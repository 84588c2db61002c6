"""The line under a tab's parameters that says when its sampling knob is tuned for this person
(playground/services/personal_defaults.py), with the switch to use everyone's defaults instead.

"Tuned for you from 23 of your ratings: temperature 0.7 → 0.9 · [Use the defaults]". On each page
load the knob's slider starts from the person's own value when their ratings show one and the
switch is on; the request then stores the value it used, as for any value a person sets.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import gradio as gr
from gradio.blocks import Block

from playground.services.identity import Viewer
from playground.services.personal_defaults import PersonalDefaults, everyones_value, personal_defaults, switch_personal_defaults
from playground.serving.context import AppContext
from playground.web.ui.errors import shown_to_user
from playground.web.ui.session import viewer_of

KNOB_WORDS = {"temperature": "temperature", "guidance_scale": "guidance"}


@dataclass(frozen=True)
class TuningParts:
    knob: gr.Slider  # the tuned parameter's slider
    note: gr.Markdown
    use_defaults: gr.Button
    tune_for_me: gr.Button


def build_tuning(modality: str, knob: gr.Slider) -> TuningParts:
    """The note and its two buttons, hidden until a page load finds something to say."""
    with gr.Row(elem_classes="tuning-row", elem_id=f"{modality}-tuning"):
        note = gr.Markdown(visible=False, elem_id=f"{modality}-tuning-note", elem_classes="meta")
        use_defaults = gr.Button("Use the defaults", size="sm", visible=False, elem_id=f"{modality}-use-defaults")
        tune_for_me = gr.Button("Tune for me", size="sm", visible=False, elem_id=f"{modality}-tune-for-me")
    return TuningParts(knob, note, use_defaults, tune_for_me)


def tuning_words(tuned: PersonalDefaults) -> str:
    """What the note says: the person's value against everyone's, and from how many ratings."""
    knob = KNOB_WORDS.get(tuned.knob, tuned.knob)
    ratings = f"{tuned.rated_outputs} of your rated outputs"
    if tuned.applies:
        return f"**Tuned for you** from {ratings}: {knob} {tuned.global_value:g} → {tuned.value:g}"
    return f"Your ratings suggest {knob} {tuned.value:g} (from {ratings}); you use the defaults ({knob} {tuned.global_value:g})."


def tuning_updates(parts: TuningParts, tuned: PersonalDefaults) -> dict[Block, Any]:
    """The slider at the value this person is served, and the note and buttons saying why."""
    if tuned.value is None:  # nothing learned: everyone's value, nothing to say
        return {
            parts.knob: tuned.global_value,
            parts.note: gr.Markdown(visible=False),
            parts.use_defaults: gr.Button(visible=False),
            parts.tune_for_me: gr.Button(visible=False),
        }
    return {
        parts.knob: tuned.served_value,
        parts.note: gr.Markdown(tuning_words(tuned), visible=True),
        parts.use_defaults: gr.Button(visible=tuned.applies),
        parts.tune_for_me: gr.Button(visible=not tuned.applies),
    }


def wire_tuning(app: gr.Blocks, context: AppContext, modality: str, parts: TuningParts) -> None:
    """On page load, start the knob from the person's own value; the buttons switch it off and on.

    This load is the only setter of the knob's value on load: a slider's own callable value (the
    active version's learned default, as it was) would race it."""
    outputs = [parts.note, parts.use_defaults, parts.tune_for_me, parts.knob]
    common: dict[str, Any] = {"api_visibility": "private", "queue": False, "show_progress": "hidden"}

    def served_to(viewer: Viewer | None) -> PersonalDefaults:
        if viewer is None:  # a browser that has not generated yet: everyone's value
            return PersonalDefaults.nothing_learned(modality, everyones_value(context, modality))
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
