"""Learn a version's default sampling settings from diversity and naturalness ratings.

Pure pandas. Requests are bucketed by the value of one sampling knob (temperature for text,
guidance scale for images); each bucket's mean naturalness and mean diversity (both 1-5) are
combined, and the best-scoring bucket with enough evidence becomes the new default. Buckets
with too few rated requests are ignored, so a handful of ratings never moves the defaults.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pandas as pd

KNOBS = {"text": ("temperature", 0.1), "image": ("guidance_scale", 0.5)}  # knob, bucket width


@dataclass(frozen=True)
class SamplingConfig:
    min_requests_per_bucket: int = 5
    diversity_weight: float = 0.5  # naturalness matters more; diversity breaks near-ties


def learn_sampling_defaults(
    modality: str,
    ratings: pd.DataFrame,
    set_ratings: pd.DataFrame,
    outputs: pd.DataFrame,
    config: SamplingConfig = SamplingConfig(),
) -> dict[str, Any]:
    """Return e.g. {"temperature": 0.6, "evidence": {...}}, or {} when no bucket has enough data."""
    knob, width = KNOBS[modality]
    # 1. The knob's value for every request of this modality.
    requests = outputs[outputs["modality"] == modality].drop_duplicates("request_id")
    values = requests.set_index("request_id")["parameters"].map(lambda p: _knob_value(p, knob)).dropna()
    if values.empty:
        return {}
    # 2. Per request: mean naturalness of its outputs, mean diversity of its set ratings.
    rated = ratings[(ratings["modality"] == modality) & ~ratings["flagged"].astype(bool)]
    naturalness = rated.groupby("request_id")["naturalness"].mean()
    sets = set_ratings[set_ratings["modality"] == modality] if not set_ratings.empty else set_ratings
    diversity = sets.groupby("request_id")["diversity"].mean() if not sets.empty else pd.Series(dtype=float)
    table = pd.DataFrame({"value": values, "naturalness": naturalness, "diversity": diversity})
    table = table.dropna(subset=["value", "naturalness"])
    if table.empty:
        return {}
    # 3. Bucket, keep buckets with enough evidence, and pick the best combined score.
    table["bucket"] = (table["value"] / width).round() * width
    buckets = table.groupby("bucket").agg(
        requests=("naturalness", "size"),
        naturalness=("naturalness", "mean"),
        diversity=("diversity", "mean"),
    )
    buckets = buckets[buckets["requests"] >= config.min_requests_per_bucket]
    if buckets.empty:
        return {}
    buckets["objective"] = buckets["naturalness"] + config.diversity_weight * buckets["diversity"].fillna(
        buckets["diversity"].mean() if buckets["diversity"].notna().any() else 0.0
    )
    best = float(buckets["objective"].idxmax())
    evidence = {
        f"{bucket:g}": {k: (round(float(v), 3) if pd.notna(v) else None) for k, v in row.items()}
        for bucket, row in buckets.iterrows()
    }
    return {knob: round(best, 3), "evidence": evidence}


def _knob_value(parameters: Any, knob: str) -> float | None:
    if isinstance(parameters, str):
        parameters = json.loads(parameters)
    value = (parameters or {}).get(knob)
    return float(value) if value is not None else None
