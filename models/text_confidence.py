"""Token confidence in process: what each generated token's probability was, and its likeliest
alternatives, measured on the logits `transformers.generate` computes anyway.

`RawProbabilities` is the first logits processor of a generation, so it sees each step's raw
logits (float32, before the repetition penalty, temperature and top-p) and keeps their softmax
for the whole batch. Once the step's tokens are chosen, `BatchStreamer` (`models.text_decoding`)
asks it for the chosen tokens' probabilities and the top alternatives: one gather and one top-k
for the batch per step, and two small copies to the host. `TokenTexts` names the alternatives.
"""

from __future__ import annotations

from collections import deque
from typing import Any

import torch
from transformers.generation.logits_process import LogitsProcessor

from models.base import CONFIDENCE_ALTERNATIVES, TokenConfidence

# A row's measurement at one step: the chosen token's probability and the top (token id, probability).
Measured = tuple[float, list[tuple[int, float]]]


class RawProbabilities(LogitsProcessor):
    """Keeps the softmax of each step's raw logits until the streamer learns the chosen tokens.

    It must come before every processor that changes the logits (the repetition penalty, the
    sampler) and changes nothing itself. A queue, not one slot: a decoding loop that streams a
    step late (transformers' deferred stop check) has computed the next step's logits by then.
    """

    def __init__(self, alternatives: int = CONFIDENCE_ALTERNATIVES):
        self.alternatives = alternatives
        self._pending: deque[torch.Tensor] = deque()

    def __call__(self, input_ids: torch.LongTensor, scores: torch.FloatTensor) -> torch.FloatTensor:
        self._pending.append(torch.softmax(scores.float(), dim=-1))
        return scores

    def measure(self, tokens: torch.Tensor) -> list[Measured]:
        """Per row, the probability of its chosen token and the top alternatives (most likely
        first) at the oldest step not yet measured."""
        probs = self._pending.popleft()
        chosen = probs.gather(1, tokens.reshape(-1, 1).to(probs.device))
        top = probs.topk(min(self.alternatives, probs.shape[-1]), dim=-1)
        values = torch.cat([chosen, top.values], dim=1).tolist()
        ids = top.indices.tolist()
        return [(row[0], list(zip(row_ids, row[1:], strict=True))) for row, row_ids in zip(values, ids, strict=True)]


class TokenTexts:
    """The text of single tokens (the alternatives), decoded once per token id per request.
    Special tokens keep their names (an end-of-turn alternative reads "<|im_end|>")."""

    def __init__(self, tokenizer: Any):
        self.tokenizer = tokenizer
        self._texts: dict[int, str] = {}

    def __getitem__(self, token_id: int) -> str:
        text = self._texts.get(token_id)
        if text is None:
            text = self._texts[token_id] = str(self.tokenizer.decode([token_id], skip_special_tokens=False))
        return text

    def confidence(self, text: str, measured: Measured) -> TokenConfidence:
        """A generated token (its `text` in the answer) with what was measured for it."""
        probability, top = measured
        return TokenConfidence(text, probability, tuple((self[token_id], p) for token_id, p in top))


def added_text(before: str, after: str) -> str:
    """What a token added to the decoded text. Byte-level tokenizers only ever extend it (a
    character split over tokens appears with its last byte, see `BatchStreamer`); if decoding
    rewrote earlier text instead, the token gets what follows the part both texts share."""
    if after.startswith(before):
        return after[len(before) :]
    shared = 0
    for a, b in zip(before, after, strict=False):
        if a != b:
            break
        shared += 1
    return after[shared:]
