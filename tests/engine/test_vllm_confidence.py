"""Token confidence through a real vLLM (the package's server: conftest.py): its logprobs come
back for every token, streamed, and they are the raw model's probabilities, the ones the
in-process backend reports for the same model."""

from __future__ import annotations

import pytest

from models.base import CONFIDENCE_ALTERNATIVES, TextOutput, TextParams
from models.text_engine import EngineTextGenerator
from models.text_hf import HFTextGenerator

pytestmark = [pytest.mark.engine, pytest.mark.real_model]
PROMPT = "Write two sentences about the sea."


@pytest.fixture(scope="module")
def engine(vllm_server) -> EngineTextGenerator:
    return EngineTextGenerator(vllm_server.spec)


def check_tokens(output: TextOutput) -> None:
    assert output.confidence is not None and len(output.confidence) == output.tokens > 0
    for token in output.confidence:
        probabilities = [p for _, p in token.alternatives]
        assert 0.0 <= token.probability <= 1.0 and all(0.0 <= p <= 1.0 for p in probabilities)
        assert len(token.alternatives) == CONFIDENCE_ALTERNATIVES and probabilities == sorted(probabilities, reverse=True)
        assert sum(probabilities) <= 1.0 + 1e-4


def test_greedy_tokens_are_the_top_alternative_and_stream_with_the_text(engine):
    updates = list(engine.stream(PROMPT, TextParams(temperature=0.0, repetition_penalty=1.0, max_new_tokens=24)))
    [output] = updates[-1].outputs
    check_tokens(output)
    assert output.confidence is not None
    for token in output.confidence:
        assert token.alternatives[0][1] == pytest.approx(token.probability, abs=1e-6), token
    assert "".join(t.text for t in output.confidence) == output.text
    assert any(0 < len(u.confidence[0]) < output.tokens for u in updates[:-1]), "confidence arrived only at the end"


def test_sampled_probabilities_are_the_raw_ones_the_in_process_model_reports(engine, real_text_generator: HFTextGenerator):
    """vLLM's default logprobs mode is raw: at temperature 0.7 with a repetition penalty, the
    probabilities still equal the unprocessed softmax of the same model in process."""
    import torch

    params = TextParams(seed=5, max_new_tokens=24)  # temperature 0.7, top-p 0.9, penalty 1.1
    [output] = engine.generate(PROMPT, params)
    check_tokens(output)
    assert output.confidence is not None
    prompt_ids = real_text_generator.encode_prompt(PROMPT)
    answer = real_text_generator.tokenizer(output.text, add_special_tokens=False, return_tensors="pt")["input_ids"]
    count = min(answer.shape[1], len(output.confidence))  # the engine also counts an end token
    ids = torch.cat([prompt_ids, answer.to(prompt_ids.device)], dim=1)
    with torch.inference_mode():
        logits = real_text_generator.model(input_ids=ids).logits[0, prompt_ids.shape[1] - 1 : -1].float()
    expected = torch.softmax(logits, dim=-1).gather(1, answer[0].unsqueeze(1)).squeeze(1).tolist()
    got = [t.probability for t in output.confidence[:count]]
    assert got == pytest.approx(expected[:count], abs=2e-3)
