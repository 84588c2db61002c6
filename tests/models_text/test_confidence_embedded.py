"""Token confidence from the embedded SmolLM2 is the model's own belief: each token's probability
and alternatives equal those of a separate forward pass over the prompt and the answer (the raw
logits' softmax, not the temperature, top-p or repetition penalty the sampler used)."""

from __future__ import annotations

import pytest

from models.base import CONFIDENCE_ALTERNATIVES, TextOutput, TextParams
from models.text_hf import HFTextGenerator

pytestmark = pytest.mark.real_model

PROMPT = "Describe the sea in two sentences."
TOLERANCE = 1e-3  # float32, one batched cached generation against one uncached pass


def forward_pass(generator: HFTextGenerator, output: TextOutput) -> tuple[list[float], list[list[float]]]:
    """Each answer token's probability, and the top alternatives' probabilities, from one pass
    over the prompt and the answer (re-tokenized: checked to give the same tokens)."""
    import torch

    prompt_ids = generator.encode_prompt(PROMPT)
    answer_ids = generator.tokenizer(output.text, add_special_tokens=False, return_tensors="pt")["input_ids"]
    assert output.confidence is not None
    assert [generator.tokenizer.decode([i]) for i in answer_ids[0].tolist()] == [t.text for t in output.confidence]
    ids = torch.cat([prompt_ids, answer_ids.to(prompt_ids.device)], dim=1)
    with torch.inference_mode():
        logits = generator.model(input_ids=ids).logits[0, prompt_ids.shape[1] - 1 : -1].float()
    probs = torch.softmax(logits, dim=-1)
    chosen = probs.gather(1, answer_ids[0].to(probs.device).unsqueeze(1)).squeeze(1).tolist()
    top = probs.topk(CONFIDENCE_ALTERNATIVES, dim=-1).values.tolist()
    return chosen, top


@pytest.mark.parametrize(
    "params",
    [
        TextParams(max_new_tokens=24, temperature=0.0, repetition_penalty=1.0),
        TextParams(max_new_tokens=24, seed=3),  # the defaults: temperature 0.7, top-p 0.9, repetition penalty 1.1
    ],
    ids=["greedy", "sampled"],
)
def test_probabilities_equal_a_separate_forward_pass(embedded_generator: HFTextGenerator, params: TextParams) -> None:
    [output] = embedded_generator.generate(PROMPT, params)
    assert output.confidence is not None and len(output.confidence) == output.tokens == 24
    chosen, top = forward_pass(embedded_generator, output)
    for token, probability, alternatives in zip(output.confidence, chosen, top, strict=True):
        assert abs(token.probability - probability) < TOLERANCE, (token, probability)
        assert all(abs(a - b) < TOLERANCE for (_, a), b in zip(token.alternatives, alternatives, strict=True)), token
    if params.temperature == 0:  # greedy without a penalty: each token is the likeliest one
        assert all(t.alternatives[0] == (t.text, t.probability) for t in output.confidence)
    else:  # sampling at 0.7 picked at least one token the model did not rank first
        assert any(t.probability < t.alternatives[0][1] for t in output.confidence)
