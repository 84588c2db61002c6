"""Personal sampling defaults (playground/services/personal_defaults.py), through the app's own
generation and rating path on fake models: one person's ratings tune that person's knobs only
(temperature, top-p, max new tokens; guidance and steps), each with the global rule on its own
(two buckets compared, noise refused), the note names every tuned knob, and the switch turns all
of them off."""

from __future__ import annotations

import pandas as pd
import pytest

from models.base import ImageParams, TextParams
from models.finetune.sampling import KNOB_TABLES, learn_knobs
from playground.services.generation import stream_image, stream_text
from playground.services.identity import viewer_for_token
from playground.services.personal_defaults import personal_defaults, switch_personal_defaults
from playground.services.ratings import rate_output
from playground.web.ui.personal_tuning import tuning_words

EVERYONES = TextParams()


def rate_at(context, viewer, temperature: float, scores: list[int], max_new_tokens: int = 64, top_p: float = 0.9) -> None:
    """One request per score at these knobs, its candidate rated with that naturalness."""
    params = TextParams(n=1, temperature=temperature, max_new_tokens=max_new_tokens, top_p=top_p)
    for index, score in enumerate(scores):
        final = list(stream_text(context, viewer, f"tell me about the sea, take {index}", params))[-1]
        rate_output(context.database, viewer, final.recorded.output_ids[0], naturalness=score)


def rate_images_at(context, viewer, steps: int, scores: list[int]) -> None:
    """One image request per score at `steps` (everyone's guidance), its image rated so."""
    params = ImageParams(n=1, steps=steps)
    for index, score in enumerate(scores):
        final = list(stream_image(context, viewer, f"a lighthouse, take {index}", params))[-1]
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
    temperature = tuned["temperature"]
    assert (temperature.value, temperature.global_value, tuned.rated_outputs) == (0.4, EVERYONES.temperature, 12)
    assert tuned.applies and tuned.served_value("temperature") == 0.4
    assert "0.4 beats 1" in temperature.why
    # Every request used top-p 0.9 and 64 tokens: one bucket each, nothing learned for them.
    assert [k.knob for k in tuned.learned] == ["temperature"]
    assert tuned["top_p"].value is None and "nothing to compare" in tuned["top_p"].why
    assert tuned.served == {"temperature": 0.4, "top_p": EVERYONES.top_p, "max_new_tokens": EVERYONES.max_new_tokens}
    assert tuning_words(tuned) == "**Tuned for you** from 12 of your rated outputs: temperature 0.7 → 0.4"


def test_a_person_who_rated_short_answers_higher_gets_a_lower_length(context, database):
    brief = viewer_for_token(database, None)
    rate_at(context, brief, 0.7, [5, 5, 4], max_new_tokens=60)  # bucket 64, used most in it
    rate_at(context, brief, 0.7, [5, 4, 5, 5], max_new_tokens=70)  # bucket 64
    rate_at(context, brief, 0.7, [2, 1, 2, 2, 1, 2], max_new_tokens=500)  # bucket 512
    tuned = personal_defaults(context, brief, "text")
    assert tuned["max_new_tokens"].value == 70 and tuned.served_value("max_new_tokens") == 70
    assert [k.knob for k in tuned.learned] == ["max_new_tokens"]  # one temperature, one top-p
    assert "max new tokens 384 → 70" in tuning_words(tuned)


def test_the_note_names_every_learned_knob_and_off_means_everyones_values(context, database):
    # 1. Better answers were cooler, narrower and shorter: three knobs, each compared on its own.
    picky = viewer_for_token(database, None)
    rate_at(context, picky, 0.4, [5, 5, 4, 5, 4, 5], max_new_tokens=128, top_p=0.8)
    rate_at(context, picky, 1.0, [2, 1, 2, 2, 1, 2], max_new_tokens=512, top_p=0.95)
    tuned = personal_defaults(context, picky, "text")
    assert tuned.served == {"temperature": 0.4, "top_p": 0.8, "max_new_tokens": 128}
    assert tuning_words(tuned) == (
        "**Tuned for you** from 12 of your rated outputs: temperature 0.7 → 0.4, top-p 0.9 → 0.8, max new tokens 384 → 128"
    )
    # 2. Off: everyone's value for every knob, the note still naming what the ratings suggest.
    switch_personal_defaults(context, picky, False)
    off = personal_defaults(context, picky, "text")
    assert not off.applies and off.served == {"temperature": 0.7, "top_p": 0.9, "max_new_tokens": 384}
    assert tuning_words(off) == (
        "Your ratings suggest temperature 0.4, top-p 0.8, max new tokens 128 (from 12 of your rated outputs); "
        "you use the defaults (temperature 0.7, top-p 0.9, max new tokens 384)."
    )


def test_another_person_is_not_tuned_by_someone_elses_ratings(context, database, cool_taste):
    stranger = viewer_for_token(database, None)
    rate_at(context, stranger, 0.7, [3])
    tuned = personal_defaults(context, stranger, "text")
    assert (tuned.learned, tuned.rated_outputs, tuned.served_value("temperature")) == ((), 1, EVERYONES.temperature)
    assert not tuned.applies


def test_one_bucket_or_noise_tunes_nothing(context, database):
    # 1. Many ratings, all at one temperature: nothing compared, nothing learned.
    steady = viewer_for_token(database, None)
    rate_at(context, steady, 0.7, [5, 4, 5, 4, 5, 5])
    assert personal_defaults(context, steady, "text").learned == ()
    # 2. Two buckets that score alike: within noise.
    even = viewer_for_token(database, None)
    rate_at(context, even, 0.4, [3, 4, 3, 4, 3])
    rate_at(context, even, 1.0, [4, 3, 4, 3, 3])
    tuned = personal_defaults(context, even, "text")
    assert tuned.learned == () and "within noise" in tuned["temperature"].why


def test_the_switch_turns_the_tuning_off_and_on_again(context, cool_taste):
    switch_personal_defaults(context, cool_taste, False)
    off = personal_defaults(context, cool_taste, "text")
    assert (off["temperature"].value, off.applies, off.served_value("temperature")) == (0.4, False, EVERYONES.temperature)
    switch_personal_defaults(context, cool_taste, True)
    assert personal_defaults(context, cool_taste, "text").served_value("temperature") == 0.4


def test_images_are_tuned_on_guidance_and_steps_apart_from_text(context, cool_taste):
    tuned = personal_defaults(context, cool_taste, "image")
    assert ([k.knob for k in tuned.knobs], tuned.learned, tuned.rated_outputs) == (["guidance_scale", "steps"], (), 0)
    # Fewer steps rated higher (steps 4 and 6 share the bucket 5); one guidance: steps alone.
    rate_images_at(context, cool_taste, 4, [5, 4, 5])
    rate_images_at(context, cool_taste, 6, [5, 5, 4])
    rate_images_at(context, cool_taste, 20, [2, 1, 2, 2, 1])
    tuned = personal_defaults(context, cool_taste, "image")
    assert [(k.knob, k.value) for k in tuned.learned] == [("steps", 5)]
    assert tuned.served == {"guidance_scale": ImageParams().guidance_scale, "steps": 5}
    assert "steps 20 → 5" in tuning_words(tuned)
    with pytest.raises(ValueError, match="modality"):
        personal_defaults(context, cool_taste, "video")


def test_requests_whose_parameters_lack_a_knob_or_hold_junk_say_nothing_about_it():
    # 1. Five good requests per temperature bucket, and junk of every kind beside them.
    good = [{"temperature": 0.4, "top_p": 0.9}] * 5 + [{"temperature": 1.0, "top_p": 0.9}] * 5
    junk = [{}, None, "not json", "[1, 2]", {"top_p": "wide"}, {"max_new_tokens": float("nan")}, {"top_p": [0.5]}, {"top_p": True}]
    parameters = [*good, *junk, *junk]
    scores = [5, 5, 4, 5, 4, 1, 2, 1, 2, 1, *[3] * (2 * len(junk))]
    ratings = pd.DataFrame(
        {
            "request_id": range(len(parameters)),
            "output_id": range(len(parameters)),
            "modality": "text",
            "flagged": False,
            "naturalness": scores,
            "parameters": parameters,
        }
    )
    # 2. No crash; temperature is learned from the good ones, the junk adds no bucket.
    learned = learn_knobs("text", ratings, pd.DataFrame(), ratings)
    assert set(learned) == {k.name for k in KNOB_TABLES["text"]}
    assert learned["temperature"]["temperature"] == 0.4
    assert learned["top_p"]["evidence"]["buckets"] == {"0.9": {"requests": 10, "objective": 3.0}}
    assert "no rated requests" in learned["max_new_tokens"]["evidence"]["why"]


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
    assert (tuned["temperature"].value, tuned.served_value("temperature")) == (0.4, 0.4)
    params = TextParams(n=1, temperature=tuned.served_value("temperature"), max_new_tokens=4)
    final = list(stream_text(context, person, "Name a sea.", params))[-1]
    assert final.outputs[0].text.strip()
