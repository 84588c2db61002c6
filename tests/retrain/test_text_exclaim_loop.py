"""A preference outside the battery, promoted after one night: answers with an exclamation.

A scripted rater likes lively answers, ones with an exclamation mark ("Honey bees are amazing!"),
and rates every candidate of the text loop's 50 feedback prompts (the length test's prompts,
generation settings, feedback size and 30 training steps). `retrain` runs with the default gate
(judged answers on). The version must be promoted after that one night, and on prompts never rated
(4 seeds each, the same seeds before and after) the share of answers with an exclamation mark must
rise by at least 15 points, the answers staying answers (words, not a repeated token).

What it does not check: that the model keeps what it knew. At these settings it does not: asked
"What is the capital of France?" (greedy), the promoted version answers with a cheerful greeting
and no Paris (docs/RETRAIN.md, "Measured: two preferences outside the battery"). The test
prints that answer: a preference met at the price of a capability is for a capability check in
the gate to refuse, not for this test.

Trained for the default length instead (2 epochs, 52 steps here), the share went 0.25 -> 0.96 and
the answers lost their sense ("Eh! eco! Oh what bigger than crap..."): the rater's preference was
met and the model's language was not kept, which is why the loop tests train for 30 steps.

Chosen where the base model's candidates vary: with these prompts and settings the embedded
SmolLM2 put an exclamation mark in 53 of its 200 answers, and 32 of the 50 requests had both
kinds among their 4 candidates, so within-request pairs exist (the same section of
docs/RETRAIN.md). The test prints the figures of its own run.
"""

from __future__ import annotations

import pytest

from models.base import TextParams
from models.metrics import distinct_n, words
from playground.retrain import RetrainOptions, retrain
from tests.retrain.test_loop_closure import GENERATE, HELDOUT_TOPICS, TEMPLATES, TOPICS
from tests.retrain.text_feedback import rate_one_request, text_loop

pytestmark = [pytest.mark.real_model, pytest.mark.generality, pytest.mark.timeout(3600)]

MEASURE = TextParams(max_new_tokens=64, temperature=1.0, top_p=0.95, n=4, seed=2024)


def exclamations(text: str) -> int:
    return text.count("!")


def scripted_scores(text: str) -> tuple[int, int]:
    """An exclamation is what this rater wants; the content itself they take as it comes."""
    score = 5 if exclamations(text) else 2
    return score, score


def test_a_rater_who_likes_lively_answers_gets_them_after_one_night(tmp_path, model_cache_dir, real_text_generator):
    loop = text_loop(tmp_path, model_cache_dir, real_text_generator, "likes-exclamations")
    settings = loop.settings
    # 1. 50 prompts x 4 candidates through the app's path; the best pick has the most exclamations.
    lively, mixed = 0, 0
    for k, topic in enumerate(TOPICS):
        params = TextParams(**{**GENERATE.__dict__, "seed": k})
        texts = rate_one_request(loop, TEMPLATES[k % 2].format(topic), params, scripted_scores, exclamations)
        given = sum(exclamations(text) > 0 for text in texts)
        lively, mixed = lively + given, mixed + (0 < given < len(texts))
    print(f"feedback: {lively} of {4 * len(TOPICS)} answers have an exclamation; {mixed} of {len(TOPICS)} requests mixed")
    # 2. One night with the default gate (judged answers on).
    (outcome,) = retrain(settings, RetrainOptions(modality="text", max_steps=30, personal=False))
    report = outcome.report_path.read_text()
    print(report)
    assert outcome.status == "promoted", outcome.message
    assert "## Judged answers" in report
    # 3. Never-rated prompts, same seeds: more lively answers, still coherent.
    prompts = [TEMPLATES[k % 2].format(topic) for k, topic in enumerate(HELDOUT_TOPICS)]
    shares, texts = {}, []
    try:
        for version, adapter in (("base", None), (outcome.version, settings.adapters_dir / outcome.version)):
            real_text_generator.use_version(version, adapter)
            texts = [o.text for prompt in prompts for o in real_text_generator.generate(prompt, MEASURE)]
            shares[version] = sum(exclamations(t) > 0 for t in texts) / len(texts)
        capital = real_text_generator.generate("What is the capital of France?", TextParams(temperature=0, max_new_tokens=24))
    finally:
        real_text_generator.use_version("base", None)
    print(f"answers with an exclamation on never-rated prompts: {shares['base']:.2f} -> {shares[outcome.version]:.2f}")
    print("after, first answers:", texts[:4])
    assert shares[outcome.version] >= shares["base"] + 0.15, shares
    assert sum(words(t) >= 3 for t in texts) >= 0.9 * len(texts), texts
    assert distinct_n(texts, 1) > 0.3, texts[:4]
    print("greedy capital answer after:", capital[0].text)
