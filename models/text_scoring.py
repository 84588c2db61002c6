"""Log-probabilities of completions given prompts: the one scorer the retrain gate uses.

A completion is scored as the assistant turn after the prompt's user turn, in the model's chat
template, end-of-turn token included: exactly the tokens TRL trains on (DPO/KTO/SFT rows are
conversational), so a trained preference for ending early or late shows in the score. Models
without a chat template score `prompt + completion + eos`.

`HFTextGenerator.completion_logprobs` calls this under the generator's lock; nothing else
reaches into the served model.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

# (summed log-probability of the completion's tokens, number of those tokens)
CompletionScore = tuple[float, int]


def chat_completion_logprobs(
    model: Any, tokenizer: Any, prompts: Sequence[str], completions: Sequence[str], batch_size: int = 8
) -> list[CompletionScore]:
    """Score each (prompt, completion) under `model` as it is now (adapters as set)."""
    import torch

    rows = list(zip(prompts, completions, strict=True))
    results: list[CompletionScore] = []
    with torch.inference_mode():
        for start in range(0, len(rows), batch_size):
            results += _score_batch(model, tokenizer, rows[start : start + batch_size])
    return results


def conversation_ids(tokenizer: Any, prompt: str, completion: str) -> tuple[list[int], int]:
    """The full conversation's token ids and the index where the completion starts."""
    user = [{"role": "user", "content": prompt}]
    if getattr(tokenizer, "chat_template", None):
        prompt_ids = _ids(tokenizer.apply_chat_template(user, add_generation_prompt=True, tokenize=True))
        full_ids = _ids(tokenizer.apply_chat_template(user + [{"role": "assistant", "content": completion}], tokenize=True))
        if full_ids[: len(prompt_ids)] == prompt_ids:
            return full_ids, len(prompt_ids)
    prompt_ids = tokenizer(prompt, add_special_tokens=False)["input_ids"]
    completion_ids = tokenizer(completion, add_special_tokens=False)["input_ids"]
    return prompt_ids + completion_ids + [tokenizer.eos_token_id], len(prompt_ids)


def _ids(value: Any) -> list[int]:
    if isinstance(value, dict) or hasattr(value, "keys"):
        value = value["input_ids"]
    return list(value)


def _score_batch(model: Any, tokenizer: Any, batch: list[tuple[str, str]]) -> list[CompletionScore]:
    import torch

    encoded = [conversation_ids(tokenizer, prompt, completion) for prompt, completion in batch]
    length = max(len(ids) for ids, _ in encoded)
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
    device = next(model.parameters()).device
    input_ids = torch.full((len(encoded), length), pad, dtype=torch.long)
    attention = torch.zeros((len(encoded), length), dtype=torch.long)
    for row, (ids, _) in enumerate(encoded):  # right padding: positions stay as in training
        input_ids[row, : len(ids)] = torch.tensor(ids)
        attention[row, : len(ids)] = 1
    logits = model(input_ids=input_ids.to(device), attention_mask=attention.to(device)).logits.float()
    logprobs = torch.log_softmax(logits[:, :-1], dim=-1)
    picked = logprobs.gather(2, input_ids[:, 1:].to(device).unsqueeze(2)).squeeze(2)
    results = []
    for row, (ids, completion_start) in enumerate(encoded):
        span = picked[row, completion_start - 1 : len(ids) - 1]
        results.append((float(span.sum()), int(span.numel())))
    return results
