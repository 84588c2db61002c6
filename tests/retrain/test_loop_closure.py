"""The loop, measurably closed on the real embedded text model.

A scripted rater who prefers answers under 40 words rates 200 generated outputs through the
query API; `retrain` runs; on held-out prompts the promoted version's answers are clearly
shorter (median length down by at least 25%) and still coherent.
"""

from __future__ import annotations

import statistics

import pytest

from models.base import TextParams
from models.metrics import distinct_n, words
from playground.retrain import RetrainOptions, retrain
from tests.retrain.text_feedback import rate_one_request, text_loop

# ~11 min on 2 cores (200 generated answers, 30 DPO steps): the long lane, `make test-long`.
pytestmark = [pytest.mark.real_model, pytest.mark.long, pytest.mark.timeout(3600)]

TOPICS = [
    "the ocean",
    "volcanoes",
    "the moon",
    "coffee",
    "bicycles",
    "honey bees",
    "the piano",
    "rainforests",
    "chess",
    "bread baking",
    "the Roman Empire",
    "electric cars",
    "penguins",
    "the internet",
    "tea",
    "mountains",
    "photosynthesis",
    "the violin",
    "deserts",
    "airplanes",
    "football",
    "the sun",
    "libraries",
    "gardening",
    "trains",
    "whales",
    "cheese",
    "snow",
    "rivers",
    "the human heart",
    "dinosaurs",
    "castles",
    "jazz music",
    "recycling",
    "the Eiffel Tower",
    "owls",
    "chocolate",
    "lighthouses",
    "glaciers",
    "butterflies",
    "printing",
    "submarines",
    "wolves",
    "rainbows",
    "the Great Wall of China",
    "earthquakes",
    "apples",
    "kites",
    "clocks",
    "the Amazon river",
]
HELDOUT_TOPICS = [
    "elephants",
    "thunderstorms",
    "the guitar",
    "pyramids",
    "coral reefs",
    "comets",
    "rice farming",
    "hot air balloons",
    "bamboo",
    "the Arctic",
    "museums",
    "lemons",
]
# Prompts that draw both short and long answers from the model, so that within one prompt the
# rater sees candidates on both sides of 40 words (pairs are built within a prompt).
TEMPLATES = ("What is {}? Answer briefly.", "Tell me briefly about {}.")
GENERATE = TextParams(max_new_tokens=64, temperature=1.0, top_p=0.95, n=4)
MEASURE = TextParams(max_new_tokens=80, temperature=0.7, top_p=0.9, n=4, seed=2024)


def scripted_scores(text: str) -> tuple[int, int]:
    """(naturalness, reliability) of a rater who wants answers under 40 words."""
    count = words(text)
    if count < 25:
        return 5, 5
    if count < 40:
        return 4, 4
    return (2, 2) if count < 55 else (1, 1)


def median_words(generator, version: str, adapter, prompts: list[str]) -> tuple[float, list[str]]:
    generator.use_version(version, adapter)
    texts = [o.text for prompt in prompts for o in generator.generate(prompt, MEASURE)]
    return statistics.median(words(t) for t in texts), texts


def test_a_rater_who_prefers_short_answers_gets_shorter_answers(tmp_path, model_cache_dir, real_text_generator):
    loop = text_loop(tmp_path, model_cache_dir, real_text_generator, "scripted-rater")
    settings = loop.settings
    # 1. 50 prompts x 4 candidates = 200 outputs, generated and rated as they come; the best pick
    # is the shortest of the top-scored.
    for k, topic in enumerate(TOPICS):
        params = TextParams(**{**GENERATE.__dict__, "seed": k})
        rate_one_request(loop, TEMPLATES[k % 2].format(topic), params, scripted_scores, lambda text: -words(text))
    # 2. Retrain: the new version must pass the held-out gate (a one-sided sign test over held-out
    # prompts at 5%) and be promoted. Of the 50 prompts, DataConfig holds out 20 (40%), so the
    # test can reach significance on prompts alone (about 18 are needed to see a 0.8 win rate).
    (outcome,) = retrain(settings, RetrainOptions(modality="text", max_steps=30, eval_generation_prompts=0, personal=False))
    assert outcome.status == "promoted", outcome.message
    # 3. On prompts never seen in feedback, answers are clearly shorter and still coherent.
    prompts = [TEMPLATES[k % 2].format(topic) for k, topic in enumerate(HELDOUT_TOPICS[:8])]
    try:
        before, _ = median_words(real_text_generator, "base", None, prompts)
        after, texts = median_words(real_text_generator, outcome.version, settings.adapters_dir / outcome.version, prompts)
        real_text_generator.use_version(outcome.version, None)
        capital = real_text_generator.generate("What is the capital of France?", TextParams(temperature=0, max_new_tokens=24))
    finally:
        real_text_generator.use_version("base", None)
    print(f"median words on held-out prompts: before {before}, after {after}")
    assert after <= 0.75 * before, (before, after, texts[:4])
    assert sum(words(t) >= 3 for t in texts) >= 0.9 * len(texts), texts
    assert distinct_n(texts, 1) > 0.3, texts[:4]
    assert "Paris" in capital[0].text
