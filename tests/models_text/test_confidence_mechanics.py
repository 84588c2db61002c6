"""Token confidence from HFTextGenerator on the tiny random Llama (fast): one entry per token,
texts that join into the answer, streamed with every update, and off when asked."""

from __future__ import annotations

from dataclasses import replace

import pytest

from models.base import CONFIDENCE_ALTERNATIVES, PartialAnswer, TextOutput, TextParams, TokenConfidence, clip_confidence
from models.text_hf import HFTextGenerator

SAMPLE = TextParams(max_new_tokens=12, temperature=1.0, n=2, seed=7)


def check_tokens(output: TextOutput) -> None:
    """The properties every output's confidence has, whatever the model."""
    assert output.confidence is not None
    assert len(output.confidence) == output.tokens
    assert "".join(t.text for t in output.confidence) == output.text
    for token in output.confidence:
        probabilities = [p for _, p in token.alternatives]
        assert 0.0 <= token.probability <= 1.0
        assert len(token.alternatives) == CONFIDENCE_ALTERNATIVES
        assert probabilities == sorted(probabilities, reverse=True) and all(0.0 <= p <= 1.0 for p in probabilities)
        assert sum(probabilities) <= 1.0 + 1e-5
        if token.probability > probabilities[-1]:  # in the top k: it is one of the alternatives
            assert any(abs(p - token.probability) < 1e-7 for p in probabilities), token


def test_every_token_has_a_probability_and_sorted_alternatives(tiny_generator: HFTextGenerator) -> None:
    for output in tiny_generator.generate("Say something.", SAMPLE):
        check_tokens(output)


def test_every_update_carries_each_candidates_tokens_so_far(tiny_generator: HFTextGenerator) -> None:
    updates = list(tiny_generator.stream("Say something.", SAMPLE))
    for update in updates:
        assert len(update.confidence) == 2
        assert ["".join(t.text for t in tokens) for tokens in update.confidence] == update.texts
    assert [len(tokens) for tokens in updates[-1].confidence] == [o.tokens for o in updates[-1].outputs]
    assert len({len(u.confidence[0]) for u in updates}) > 2, "the confidence did not grow with the stream"


def test_greedy_picks_the_likeliest_token_without_a_repetition_penalty(tiny_generator: HFTextGenerator) -> None:
    [output] = tiny_generator.generate("Hello", replace(SAMPLE, n=1, temperature=0.0, repetition_penalty=1.0))
    assert output.confidence is not None
    for token in output.confidence:
        assert token.probability == token.alternatives[0][1], token


def test_texts_past_a_stop_string_are_cut_like_the_answer(tiny_generator: HFTextGenerator) -> None:
    outputs = tiny_generator.generate("Hello", replace(SAMPLE, max_new_tokens=60, stop=("e",)))
    for output in outputs:
        assert output.finish_reason == "stop"
        check_tokens(output)  # one per token, the stop token's text cut so the texts join into the answer


def test_confidence_off_reports_none(tiny_generator: HFTextGenerator) -> None:
    updates = list(tiny_generator.stream("Say something.", replace(SAMPLE, confidence=False)))
    assert all(u.confidence == [] for u in updates)
    assert [o.confidence for o in updates[-1].outputs] == [None, None]


def test_the_same_seed_gives_the_same_text_with_confidence_on_or_off(tiny_generator: HFTextGenerator) -> None:
    with_confidence = [o.text for o in tiny_generator.generate("Hello", SAMPLE)]
    without = [o.text for o in tiny_generator.generate("Hello", replace(SAMPLE, confidence=False))]
    assert with_confidence == without


@pytest.mark.parametrize("known", [True, False])
def test_a_continuation_joins_the_answers_confidence_when_it_is_known(tiny_generator: HFTextGenerator, known: bool) -> None:
    earlier = (TokenConfidence("It", 0.5), TokenConfidence(" was", 0.25), TokenConfidence(" dark", 0.75), TokenConfidence(" \n", 0.1))
    partial = PartialAnswer("It was dark \n", tokens=4, latency_ms=10.0, confidence=earlier if known else None)
    updates = list(tiny_generator.stream("Say something.", replace(SAMPLE, n=1), continuing=partial))
    [output] = updates[-1].outputs
    if not known:  # the whole answer's confidence is unknown: none is reported
        assert output.confidence is None and all(u.confidence == [] for u in updates)
        return
    assert output.confidence is not None and len(output.confidence) == output.tokens == 4 + 12
    assert output.confidence[:4] == (*earlier[:3], TokenConfidence("", 0.1))  # the stem has no trailing whitespace
    assert "".join(t.text for t in output.confidence) == output.text
    assert all("".join(t.text for t in u.confidence[0]) == u.texts[0] for u in updates)


def test_clip_keeps_one_entry_per_token() -> None:
    tokens = (TokenConfidence("ab", 0.5), TokenConfidence("cd", 0.5), TokenConfidence("e", 0.5))
    assert [t.text for t in clip_confidence(tokens, 3)] == ["ab", "c", ""]
    assert clip_confidence(tokens, 10) == tokens
