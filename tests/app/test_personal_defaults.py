"""Personal sampling defaults (playground/services/personal_defaults.py), through the app's own
generation and rating path on fake models: one person's ratings tune that person's temperature
only, with the global rule (two buckets compared, noise refused), and the switch turns it off."""

from __future__ import annotations

import pytest

from models.base import TextParams
from playground.services.generation import stream_text
from playground.services.identity import viewer_for_token
from playground.services.personal_defaults import personal_defaults, switch_personal_defaults
from playground.services.ratings import rate_output


def rate_at(context, viewer, temperature: float, scores: list[int], max_new_tokens: int = 64) -> None:
    """One request per score at `temperature`, its candidate rated with that naturalness."""
    params = TextParams(n=1, temperature=temperature, max_new_tokens=max_new_tokens)
    for index, score in enumerate(scores):
        final = list(stream_text(context, viewer, f"tell me about the sea, take {index}", params))[-1]
        rate_output(context.database, viewer, final.recorded.output_ids[0], naturalness=score)


@pytest.fixture
def cool_taste(context, database):
    """A person who rated six answers at temperature 0.4 high and six at 1.0 low."""
    person = viewer_for_token(database, None)
    rate_at(context, person, 0.4, [5, 5, 4, 5, 4, 5])
    rate_at(context, person, 1.0, [2, 1, 2, 2, 1, 2])
    return person


def test_a_persons_ratings_tune_their_own_temperature(context, cool_taste):
    tuned = personal_defaults(context, cool_taste, "text")
    assert (tuned.knob, tuned.value, tuned.global_value, tuned.rated_outputs) == ("temperature", 0.4, TextParams().temperature, 12)
    assert tuned.applies and tuned.served_value == 0.4
    assert "0.4 beats 1" in tuned.why


def test_another_person_is_not_tuned_by_someone_elses_ratings(context, database, cool_taste):
    stranger = viewer_for_token(database, None)
    rate_at(context, stranger, 0.7, [3])
    tuned = personal_defaults(context, stranger, "text")
    assert (tuned.value, tuned.rated_outputs, tuned.served_value) == (None, 1, TextParams().temperature)
    assert not tuned.applies


def test_one_bucket_or_noise_tunes_nothing(context, database):
    # 1. Many ratings, all at one temperature: nothing compared, nothing learned.
    steady = viewer_for_token(database, None)
    rate_at(context, steady, 0.7, [5, 4, 5, 4, 5, 5])
    assert personal_defaults(context, steady, "text").value is None
    # 2. Two buckets that score alike: within noise.
    even = viewer_for_token(database, None)
    rate_at(context, even, 0.4, [3, 4, 3, 4, 3])
    rate_at(context, even, 1.0, [4, 3, 4, 3, 3])
    tuned = personal_defaults(context, even, "text")
    assert tuned.value is None and "within noise" in tuned.why


def test_the_switch_turns_the_tuning_off_and_on_again(context, cool_taste):
    switch_personal_defaults(context, cool_taste, False)
    off = personal_defaults(context, cool_taste, "text")
    assert (off.value, off.applies, off.served_value) == (0.4, False, TextParams().temperature)
    switch_personal_defaults(context, cool_taste, True)
    assert personal_defaults(context, cool_taste, "text").served_value == 0.4


def test_images_are_tuned_on_guidance_apart_from_text(context, cool_taste):
    tuned = personal_defaults(context, cool_taste, "image")
    assert (tuned.knob, tuned.value, tuned.rated_outputs) == ("guidance_scale", None, 0)
    with pytest.raises(ValueError, match="modality"):
        personal_defaults(context, cool_taste, "video")


@pytest.mark.real_model
def test_on_the_embedded_model_a_tuned_person_is_served_their_temperature(settings, database, real_text_generator, fake_image):
    from playground.serving.context import build_context

    # 1. Twelve short answers of the real model, rated by one person: cooler ones better.
    context = build_context(settings, database, text_factory=lambda: real_text_generator, image_factory=lambda: fake_image)
    person = viewer_for_token(database, None)
    rate_at(context, person, 0.4, [5, 5, 4, 5, 4, 5], max_new_tokens=4)
    rate_at(context, person, 1.0, [2, 1, 2, 2, 1, 2], max_new_tokens=4)
    # 2. Their next request starts from their own temperature, and the model answers at it.
    tuned = personal_defaults(context, person, "text")
    assert (tuned.value, tuned.served_value) == (0.4, 0.4)
    final = list(stream_text(context, person, "Name a sea.", TextParams(n=1, temperature=tuned.served_value, max_new_tokens=4)))[-1]
    assert final.outputs[0].text.strip()
