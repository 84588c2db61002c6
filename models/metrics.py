"""Automatic metrics for reports and benchmarks: lengths and distinct-n for text."""

from __future__ import annotations

import statistics
from collections.abc import Sequence


def words(text: str) -> int:
    return len(text.split())


def distinct_n(texts: Sequence[str], n: int) -> float:
    """Share of unique n-grams among all n-grams of the texts (higher = more diverse)."""
    grams = [tuple(tokens[i : i + n]) for text in texts for tokens in [text.lower().split()] for i in range(len(tokens) - n + 1)]
    return len(set(grams)) / len(grams) if grams else 0.0


def text_metrics(texts: Sequence[str]) -> dict[str, float]:
    lengths = [words(t) for t in texts]
    return {
        "count": len(texts),
        "mean_words": round(statistics.fmean(lengths), 2) if lengths else 0.0,
        "median_words": float(statistics.median(lengths)) if lengths else 0.0,
        "distinct_1": round(distinct_n(texts, 1), 3),
        "distinct_2": round(distinct_n(texts, 2), 3),
    }
