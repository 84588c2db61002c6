"""Word chips for an image model with a closed vocabulary (the embedded one): one row of chips
per kind of word (shape, colour, size, position, background) that build a prompt when clicked,
and a note when a prompt uses no word the model knows. A general model (any diffusers id) has
no vocabulary, so none of this is shown for it."""

from __future__ import annotations

import gradio as gr

from models.base import ImageVocabulary
from playground.serving.context import AppContext

KIND_LABELS = {"shape": "Shape", "colour": "Colour", "size": "Size", "position": "Position", "background": "Background"}


def vocabulary_note(vocabulary: ImageVocabulary, prompt: str | None) -> str:
    """Empty while the prompt is empty or uses a known word; otherwise what the model knows."""
    if not prompt or not prompt.strip() or vocabulary.known_in(prompt):
        return ""
    kinds = ", ".join(KIND_LABELS.get(kind, kind).lower() for kind in vocabulary.groups)
    return (
        "The embedded image model only knows simple shapes on plain backgrounds; this prompt uses "
        f"none of its words ({kinds}), so expect noise. Click the words below to build a prompt."
    )


def build_word_chips(context: AppContext, prompt: gr.Textbox) -> None:
    """The chips and the note under the image prompt, when the served model has a vocabulary."""
    vocabulary = context.generator("image").vocabulary()
    if vocabulary is None:
        return
    note = gr.Markdown(elem_id="image-vocab-note", elem_classes="meta")
    with gr.Accordion("Words this image model knows", open=True, elem_id="image-vocab"):
        chips = [
            gr.Radio(list(words), value=None, label=KIND_LABELS.get(kind, kind), elem_id=f"image-vocab-{kind}", elem_classes="word-chips")
            for kind, words in vocabulary.groups.items()
        ]
        clear = gr.Button("Clear words", size="sm", elem_id="image-vocab-clear")
    kinds = list(vocabulary.groups)

    def compose(*chosen: str | None) -> str:
        return vocabulary.compose(dict(zip(kinds, chosen, strict=True)))

    for chip in chips:
        chip.input(compose, chips, prompt, queue=False, api_visibility="private", show_progress="hidden")
    clear.click(lambda: [None] * len(chips) + [""], None, [*chips, prompt], queue=False, api_visibility="private", show_progress="hidden")
    prompt.change(
        lambda text: vocabulary_note(vocabulary, text),
        prompt,
        note,
        queue=False,
        api_visibility="private",
        show_progress="hidden",
        trigger_mode="always_last",
    )
