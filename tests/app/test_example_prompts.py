"""The example prompts under the Text and Image prompts: each one shows whole on its chip, and
every image example speaks the embedded image model's words."""

from __future__ import annotations

import pytest

from models.embedded_image.scenes import vocabulary
from playground.core.settings import Settings
from playground.web.ui.content import load_example_prompts

# Gradio cuts a text example's chip at 60 characters ("...backgroun..."), whatever its width.
GRADIO_EXAMPLE_CHARS = 60
EXAMPLES = load_example_prompts(Settings().assets_dir)


@pytest.mark.parametrize("kind", ["text", "image"])
def test_every_example_fits_its_chip_whole(kind):
    long = [prompt for prompt in EXAMPLES[kind] if len(prompt) > GRADIO_EXAMPLE_CHARS]
    assert not long, f"Gradio would cut these {kind} examples: {long}"


def test_every_image_example_names_a_shape_a_colour_and_a_background_the_model_knows():
    words = vocabulary()
    for prompt in EXAMPLES["image"]:
        known = set(words.known_in(prompt))
        for kind in ("shape", "colour", "background"):
            assert known & set(words.groups[kind]), (prompt, kind, known)
