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

from feedback_db.queries import upsert_rating, upsert_set_rating
from models.base import TextParams
from playground.context import AppContext
from playground.database import open_database
from playground.generation import stream_text
from playground.retrain import RetrainOptions, retrain
from playground.settings import Settings
from tests.db.helpers import add_rater
from tests.retrain.test_loop_closure import HELDOUT_TOPICS, TOPICS

pytestmark = [pytest.mark.real_model, pytest.mark.generality, pytest.mark.timeout(3600)]

TEMPLATE = "Give me a few facts about {}."
MORE_TOPICS = ["tigers", "the Sahara", "violins", "tomatoes", "satellites", "the Nile", "robots", "maple trees",
               "Mount Everest", "sharks"]
GENERATE = TextParams(max_new_tokens=48, temperature=1.0, top_p=0.95, n=4)
MEASURE = TextParams(max_new_tokens=48, temperature=1.0, top_p=0.95, n=4, seed=2024)


def has_list(text: str) -> bool:
    return bool(re.search(r"(^|\n)\s*(\d+[.)]|[-*•])\s", text))


def test_a_rater_who_likes_lists_gets_more_lists(tmp_path, model_cache_dir, real_text_generator):
    settings = Settings(data_dir=tmp_path / "data", device="cpu", model_cache=model_cache_dir)
    database = open_database(settings)
    context = AppContext(settings=settings, database=database, text_factory=lambda: real_text_generator, image_factory=lambda: None)
    with database.sessions.begin() as session:
        rater_id = add_rater(session, "likes-lists", role="annotator").id
    # 1. 60 prompts x 4 candidates: a list scores 5, no list 2; the best pick is a list if any.
    for k, topic in enumerate(TOPICS + MORE_TOPICS):
        final = list(stream_text(context, None, TEMPLATE.format(topic), TextParams(**{**GENERATE.__dict__, "seed": k})))[-1]
        scores = [5 if has_list(o.text) else 2 for o in final.outputs]
        with database.sessions.begin() as session:
            for score, output_id in zip(scores, final.recorded.output_ids, strict=True):
                upsert_rating(session, output_id=output_id, rater_id=rater_id, source="annotator", naturalness=score, reliability=score)
            upsert_set_rating(session, request_id=final.recorded.request_id, rater_id=rater_id, source="annotator",
                              diversity=3, best_output_id=max(zip(scores, final.recorded.output_ids))[1])
    # 2. Retrain (DPO on the pairs); the gate must promote.
    outcome, = retrain(settings, RetrainOptions(modality="text", max_steps=30, eval_generation_prompts=0))
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
