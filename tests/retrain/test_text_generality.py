"""The text loop learns a preference it was not tuned for (the defaults were tuned on length).

A scripted rater likes answers that contain a list (a line starting with "1." or "-") and rates
every candidate of 60 prompts; retrain runs with the default settings (steps capped as in the
length loop test) and must promote; on 10 prompts never rated (4 seeds each) the share of
answers with a list must rise by at least 15 points.

Chosen where the base model's candidates vary: for "Give me a few facts about X." the embedded
SmolLM2 wrote a list in 6 of 20 answers (5 prompts x 4, 48 tokens, temperature 1.0) and 4 of the 5
requests got both kinds among their 4 candidates (measured, docs/RETRAIN.md), so within-request
pairs exist. (Answers without "I" were 55 of 60 and answers with a question 2 of 60: no variety.)
"""

from __future__ import annotations

import re

import pytest

from models.base import TextParams
from playground.retrain import RetrainOptions, retrain
from tests.retrain.test_loop_closure import HELDOUT_TOPICS, TOPICS
from tests.retrain.text_feedback import rate_one_request, text_loop

pytestmark = [pytest.mark.real_model, pytest.mark.generality, pytest.mark.timeout(3600)]

TEMPLATE = "Give me a few facts about {}."
MORE_TOPICS = ["tigers", "the Sahara", "violins", "tomatoes", "satellites", "the Nile", "robots", "maple trees", "Mount Everest", "sharks"]
GENERATE = TextParams(max_new_tokens=48, temperature=1.0, top_p=0.95, n=4)
MEASURE = TextParams(max_new_tokens=48, temperature=1.0, top_p=0.95, n=4, seed=2024)


def has_list(text: str) -> bool:
    return bool(re.search(r"(^|\n)\s*(\d+[.)]|[-*•])\s", text))


def list_items(text: str) -> int:
    return len(re.findall(r"(^|\n)\s*(\d+[.)]|[-*•])\s", text))


def test_a_rater_who_likes_lists_gets_more_lists(tmp_path, model_cache_dir, real_text_generator):
    loop = text_loop(tmp_path, model_cache_dir, real_text_generator, "likes-lists")
    settings = loop.settings
    # 1. 60 prompts x 4 candidates: a list scores 5, no list 2; the best pick is the longest list.
    for k, topic in enumerate(TOPICS + MORE_TOPICS):
        params = TextParams(**{**GENERATE.__dict__, "seed": k})
        rate_one_request(loop, TEMPLATE.format(topic), params, lambda text: (5, 5) if has_list(text) else (2, 2), list_items)
    # 2. Retrain (DPO on the pairs); the gate must promote.
    (outcome,) = retrain(settings, RetrainOptions(modality="text", max_steps=30, eval_generation_prompts=0, personal=False))
    assert outcome.status == "promoted", outcome.message
    # 3. Never-rated prompts: more answers with a list.
    prompts = [TEMPLATE.format(topic) for topic in HELDOUT_TOPICS[:10]]
    shares = {}
    try:
        for version, adapter in (("base", None), (outcome.version, settings.adapters_dir / outcome.version)):
            real_text_generator.use_version(version, adapter)
            texts = [o.text for prompt in prompts for o in real_text_generator.generate(prompt, MEASURE)]
            shares[version] = sum(map(has_list, texts)) / len(texts)
    finally:
        real_text_generator.use_version("base", None)
    print(f"answers with a list on never-rated prompts: {shares['base']:.2f} -> {shares[outcome.version]:.2f}")
    assert shares[outcome.version] >= shares["base"] + 0.15, shares
