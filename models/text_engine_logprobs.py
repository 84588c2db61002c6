"""Token confidence through the engine: the OpenAI-compatible `logprobs` of a streamed chat
completion, read into `TokenConfidence`s (`models.text_engine.EngineTextGenerator` uses it).

vLLM computes them from the raw logits by default (its `--logprobs-mode raw_logprobs`: before the
repetition penalty, temperature and top-p), the same belief `HFTextGenerator` reports. Each
token's entry lists the sampled token first and then the top ones, and the server keeps the
first `top_logprobs` of them: asking for one more than we report, then sorting, leaves exactly
the top `CONFIDENCE_ALTERNATIVES` whether or not the sampled token is among them.
"""

from __future__ import annotations

import math
from typing import Any

from models.base import CONFIDENCE_ALTERNATIVES, TokenConfidence

# The request fields that ask for log-probabilities (OpenAI's chat completions schema).
LOGPROBS_REQUEST = {"logprobs": True, "top_logprobs": CONFIDENCE_ALTERNATIVES + 1}


def chunk_confidence(choice: dict[str, Any], delta: str) -> list[TokenConfidence]:
    """The tokens of one streamed choice (usually one), each with its probability and the top
    alternatives, most likely first. A choice of one token gets the chunk's text as its text, so
    the texts join into the answer (a stop string cut, a character split over tokens); several
    tokens in one chunk keep the engine's text of each token."""
    entries = (choice.get("logprobs") or {}).get("content") or []
    tokens = []
    for entry in entries:
        alternatives = sorted(
            ((str(alt.get("token", "")), _probability(alt.get("logprob"))) for alt in entry.get("top_logprobs") or ()),
            key=lambda alt: alt[1],
            reverse=True,
        )
        text = delta if len(entries) == 1 else str(entry.get("token", ""))
        tokens.append(TokenConfidence(text, _probability(entry.get("logprob")), tuple(alternatives[:CONFIDENCE_ALTERNATIVES])))
    return tokens


def _probability(logprob: Any) -> float:
    """exp(logprob), in [0, 1]; 0 for a missing one (vLLM floors very unlikely ones at -9999)."""
    if not isinstance(logprob, int | float):
        return 0.0
    return min(math.exp(min(float(logprob), 0.0)), 1.0)
