"""Short greedy answers to many prompts at once: the capability check's exact-answer task.

Left-padded batches in the model's chat template, greedy, a few tokens each; an answer ends at
the end-of-turn token or the first line break. Called under the generator's lock
(`HFTextGenerator.short_answers`), with whatever adapter the generator serves.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


def greedy_short_answers(model: Any, tokenizer: Any, prompts: Sequence[str], max_new_tokens: int = 16, batch_size: int = 16) -> list[str]:
    """The first line of each prompt's greedy answer (at most `max_new_tokens` tokens)."""
    import torch

    answers: list[str] = []
    device = next(model.parameters()).device
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
    with torch.inference_mode():
        for start in range(0, len(prompts), batch_size):
            # 1. Encode the batch in the chat template, left-padded so every row ends where answers start.
            encoded = [_prompt_ids(tokenizer, prompt) for prompt in prompts[start : start + batch_size]]
            width = max(len(ids) for ids in encoded)
            input_ids = torch.full((len(encoded), width), pad, dtype=torch.long)
            attention = torch.zeros((len(encoded), width), dtype=torch.long)
            for row, ids in enumerate(encoded):
                input_ids[row, width - len(ids) :] = torch.tensor(ids)
                attention[row, width - len(ids) :] = 1
            # 2. Greedy: the answer the model finds most likely, reproducible on any machine.
            generated = model.generate(
                input_ids=input_ids.to(device),
                attention_mask=attention.to(device),
                max_new_tokens=max_new_tokens,
                do_sample=False,
                pad_token_id=pad,
            )
            # 3. Keep the first line of each answer.
            for row in generated[:, width:]:
                text = tokenizer.decode(row, skip_special_tokens=True)
                answers.append(text.strip().split("\n", 1)[0].strip())
    return answers


def _prompt_ids(tokenizer: Any, prompt: str) -> list[int]:
    if getattr(tokenizer, "chat_template", None):
        ids = tokenizer.apply_chat_template([{"role": "user", "content": prompt}], add_generation_prompt=True, tokenize=True)
        return list(ids["input_ids"] if hasattr(ids, "keys") else ids)
    return list(tokenizer(prompt, add_special_tokens=False)["input_ids"])
