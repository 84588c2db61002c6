"""The embedded image model's vocabulary: chips compose prompts it understands, and a prompt
with none of its words gets a note; a general diffusers model has no vocabulary."""

from __future__ import annotations

import pytest

from models.base import InvalidParameterError
from models.embedded_image.scenes import BACKGROUND_COLOURS, OBJECT_COLOURS, POSITIONS, SHAPES, vocabulary
from models.image_diffusers import DiffusersImageGenerator
from playground.web.ui.image_words import vocabulary_note


def test_chips_compose_the_model_s_own_caption_words():
    words = vocabulary()
    assert list(words.groups) == ["shape", "colour", "size", "position", "background"]
    assert words.groups["shape"] == SHAPES and words.groups["colour"] == tuple(OBJECT_COLOURS)
    assert words.groups["position"] == tuple(POSITIONS) and words.groups["background"] == tuple(BACKGROUND_COLOURS)
    prompt = words.compose({"shape": "star", "colour": "red", "size": "small", "position": "top left", "background": "light blue"})
    assert prompt == "a small red star at the top left on a light blue background"
    assert words.compose({"position": "center", "shape": "circle"}) == "a circle in the center"
    assert words.compose({}) == ""
    with pytest.raises(InvalidParameterError):
        words.compose({"shape": "cat"})


def test_known_words_are_found_as_whole_words_and_phrases():
    words = vocabulary()
    assert words.known_in("a cat on a sofa") == []
    assert words.known_in("A RED circle, top-left, light blue background") == ["light blue", "top left", "circle", "red"]
    assert words.known_in("stars and circles") == []  # "star" inside "stars" is not its word
    assert words.known_in("in the middle") == ["middle"]


def test_the_note_appears_only_for_a_prompt_with_no_known_word():
    words = vocabulary()
    assert vocabulary_note(words, "") == "" and vocabulary_note(words, None) == ""
    assert vocabulary_note(words, "a blue square") == ""
    note = vocabulary_note(words, "a cat on a sofa")
    assert "uses none of its words" in note and "shape, colour, size, position, background" in note


def test_only_the_embedded_generator_has_a_vocabulary_and_asking_loads_nothing():
    embedded = DiffusersImageGenerator("embedded", "cpu")
    assert embedded.vocabulary() == vocabulary() and not embedded.is_loaded
    assert DiffusersImageGenerator("stabilityai/sd-turbo", "cpu").vocabulary() is None
