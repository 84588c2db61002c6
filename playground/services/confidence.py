"""Token confidence as stored with an output (`outputs.token_confidence`, JSON text) and read back.

Compact on purpose: a 384-token answer with three alternatives per token is ~25 KB as
dataclasses' JSON and ~12 KB as `[[text, p, [[alt, p], ...]], ...]` with probabilities rounded to
three decimals (what a shade or a tooltip can show). Rows written before confidence existed, or
by a backend that reports none, hold NULL: `decode` gives None and every view renders the text
plainly. A row that does not parse is logged and treated the same, never an error page.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import statistics
from collections.abc import Sequence
from dataclasses import dataclass

from feedback_db.queries import NewOutput
from models.base import TokenConfidence

log = logging.getLogger(__name__)
DECIMALS = 3


def encode(tokens: Sequence[TokenConfidence] | None) -> str | None:
    """The JSON text stored with an output; None for none."""
    if not tokens:
        return None
    rows = [
        [token.text, round(token.probability, DECIMALS), [[text, round(p, DECIMALS)] for text, p in token.alternatives]] for token in tokens
    ]
    return json.dumps(rows, ensure_ascii=False, separators=(",", ":"))


def decode(stored: str | None) -> tuple[TokenConfidence, ...] | None:
    """The tokens of a stored value; None where there is none or it does not parse."""
    if not stored:
        return None
    try:
        rows = json.loads(stored)
        return tuple(
            TokenConfidence(str(text), float(p), tuple((str(alt), float(q)) for alt, q in alternatives)) for text, p, alternatives in rows
        )
    except (ValueError, TypeError) as error:
        log.warning("token confidence that does not parse, shown without it: %s", error)
        return None


@dataclass(frozen=True)
class ConfidenceSummary:
    """What the exports and Insights carry per output."""

    mean: float
    minimum: float
    tokens: int


def summarise(tokens: Sequence[TokenConfidence] | None) -> ConfidenceSummary | None:
    if not tokens:
        return None
    probabilities = [token.probability for token in tokens]
    return ConfidenceSummary(statistics.fmean(probabilities), min(probabilities), len(probabilities))


def with_confidence(row: NewOutput, tokens: Sequence[TokenConfidence] | None) -> NewOutput:
    """`row` with `tokens` as stored: the encoded tokens with their mean and minimum probability
    (all None for none reported)."""
    summary = summarise(tokens)
    if summary is None:
        return row
    return dataclasses.replace(row, token_confidence=encode(tokens), confidence_mean=summary.mean, confidence_min=summary.minimum)
