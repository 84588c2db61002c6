"""Learn a version's default sampling settings from diversity and naturalness ratings, only
from a comparison.

Pure pandas/scipy. Requests are bucketed by the value of one sampling knob (temperature for
text, guidance scale for images). Each rated request gets an objective: its mean naturalness
plus `diversity_weight` x its diversity (1-5 each). A new default is learned only when:

1. at least two buckets have `min_requests_per_bucket` rated requests (one bucket compares
   nothing: if every request used guidance 1.0, the ratings cannot say 1.0 is better); and
2. the best bucket beats the runner-up by more than noise: a one-sided Welch t-test on the
   per-request objectives (unequal variances and sizes) gives p <= `alpha`.

If the ratings show nothing, the arena's sampling-preset battles (the same version drawing with
two values of the knob, voted on blind) may: a preset with `min_preset_battles` decisive votes
(wins + losses; ties and both-bad say nothing about which is better) whose wins pass a
one-sided sign test against one half at `alpha` becomes the default.

Otherwise the parent version's defaults are kept, with the evidence saying why.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pandas as pd
from scipy.stats import binomtest, ttest_ind

from models.base import Modality, check_modality

KNOBS: dict[Modality, tuple[str, float]] = {"text": ("temperature", 0.1), "image": ("guidance_scale", 0.5)}  # knob, bucket width
TEST = "one-sided Welch t-test, best bucket vs runner-up"


@dataclass(frozen=True)
class SamplingConfig:
    min_requests_per_bucket: int = 5
    diversity_weight: float = 0.5  # naturalness matters more; diversity breaks near-ties
    alpha: float = 0.05  # how often noise alone may move the defaults
    min_preset_battles: int = 20  # decisive arena votes on a preset before they count


def learn_sampling_defaults(
    modality: Modality,
    ratings: pd.DataFrame,
    set_ratings: pd.DataFrame,
    outputs: pd.DataFrame,
    parent_defaults: dict[str, Any] | None = None,
    config: SamplingConfig = SamplingConfig(),
    preset_votes: pd.DataFrame | None = None,
) -> dict[str, Any]:
    """Return e.g. {"temperature": 0.6, "evidence": {...}} when a comparison shows a better
    bucket (ratings first, then the arena's preset votes), else the parent's knob values (if
    any) with the evidence of why nothing was learned.

    `preset_votes`: one row per preset of the parent version with columns knob, value, wins,
    losses (`feedback_db.standings.preset_votes`).
    """
    knob = KNOBS[check_modality(modality)][0]
    from_ratings = _from_ratings(modality, ratings, set_ratings, outputs, parent_defaults, config)
    if from_ratings["evidence"].get("learned"):
        return from_ratings
    arena = _from_arena(knob, preset_votes, config)
    if arena is None:
        return from_ratings
    if not arena["learned"]:
        return {**from_ratings, "evidence": {**from_ratings["evidence"], "arena": arena}}
    why = (
        f"arena: {knob} {arena['value']:g} won {arena['wins']} of {arena['wins'] + arena['losses']} decisive "
        f"preset battles (p = {arena['p_value']:.3g}); ratings: {from_ratings['evidence']['why']}"
    )
    return {knob: arena["value"], "evidence": {"learned": True, "source": "arena", "why": why, "arena": arena}}


def _from_arena(knob: str, presets: pd.DataFrame | None, config: SamplingConfig) -> dict[str, Any] | None:
    """The preset whose decisive arena votes show it better than a coin (sign test), if any."""
    if presets is None or presets.empty:
        return None
    rows = presets[(presets["knob"] == knob) & presets["value"].notna()]
    tested = []
    for row in rows.itertuples():
        decisive = int(row.wins) + int(row.losses)
        if decisive >= config.min_preset_battles:
            p_value = float(binomtest(int(row.wins), decisive, 0.5, alternative="greater").pvalue)
            tested.append(
                {"value": round(float(row.value), 3), "wins": int(row.wins), "losses": int(row.losses), "p_value": round(p_value, 4)}
            )
    if not tested:
        return {"learned": False, "why": f"no {knob} preset has {config.min_preset_battles}+ decisive arena votes"}
    best = min(tested, key=lambda t: t["p_value"])
    return {**best, "learned": best["p_value"] <= config.alpha, "test": "one-sided sign test against 1/2", "presets": tested}


def _from_ratings(
    modality: Modality,
    ratings: pd.DataFrame,
    set_ratings: pd.DataFrame,
    outputs: pd.DataFrame,
    parent_defaults: dict[str, Any] | None,
    config: SamplingConfig,
) -> dict[str, Any]:
    """The rating-based comparison of knob buckets (steps 1-3 of the module docstring)."""
    knob, width = KNOBS[check_modality(modality)]
    kept = {k: v for k, v in (parent_defaults or {}).items() if k != "evidence"}
    # 1. One row per rated request: its knob value and objective.
    table = _rated_requests(modality, knob, ratings, set_ratings, outputs, config)
    if table.empty:
        return {**kept, "evidence": {"learned": False, "why": "no rated requests with a recorded " + knob}}
    # 2. Buckets with enough rated requests.
    table["bucket"] = (table["value"] / width).round() * width
    sizes = table.groupby("bucket")["objective"].size()
    usable = sizes[sizes >= config.min_requests_per_bucket].index
    summary = {
        f"{bucket:g}": {"requests": int(len(group)), "objective": round(float(group["objective"].mean()), 3)}
        for bucket, group in table.groupby("bucket")
    }
    if len(usable) < 2:
        why = f"{len(usable)} {knob} bucket(s) with {config.min_requests_per_bucket}+ rated requests: nothing to compare, the defaults stay"
        return {**kept, "evidence": {"learned": False, "why": why, "buckets": summary}}
    # 3. Best vs runner-up: is the difference larger than its noise?
    means = table[table["bucket"].isin(usable)].groupby("bucket")["objective"].mean().sort_values(ascending=False)
    best, runner_up = means.index[0], means.index[1]
    result = ttest_ind(
        table.loc[table["bucket"] == best, "objective"],
        table.loc[table["bucket"] == runner_up, "objective"],
        equal_var=False,
        alternative="greater",
    )
    p_value = float(result.pvalue) if pd.notna(result.pvalue) else 1.0
    evidence = {
        "buckets": summary,
        "best": f"{best:g}",
        "runner_up": f"{runner_up:g}",
        "test": TEST,
        "p_value": round(p_value, 4),
        "alpha": config.alpha,
    }
    if p_value > config.alpha:
        why = f"{knob} {best:g} vs {runner_up:g}: p = {p_value:.3g} > {config.alpha:g}, the difference is within noise"
        return {**kept, "evidence": {**evidence, "learned": False, "why": why}}
    return {
        knob: round(float(best), 3),
        "evidence": {**evidence, "learned": True, "why": f"{knob} {best:g} beats {runner_up:g} (p = {p_value:.3g})"},
    }


def _rated_requests(
    modality: Modality, knob: str, ratings: pd.DataFrame, set_ratings: pd.DataFrame, outputs: pd.DataFrame, config: SamplingConfig
) -> pd.DataFrame:
    """Per rated request: the knob value and naturalness + weight x diversity."""
    requests = outputs[outputs["modality"] == modality].drop_duplicates("request_id")
    values = requests.set_index("request_id")["parameters"].map(lambda p: _knob_value(p, knob)).dropna()
    rated = ratings[(ratings["modality"] == modality) & ~ratings["flagged"].astype(bool)] if not ratings.empty else ratings
    naturalness = rated.groupby("request_id")["naturalness"].mean() if not rated.empty else pd.Series(dtype=float)
    sets = set_ratings[set_ratings["modality"] == modality] if not set_ratings.empty else set_ratings
    diversity = sets.groupby("request_id")["diversity"].mean() if not sets.empty else pd.Series(dtype=float)
    table = pd.DataFrame({"value": values, "naturalness": naturalness, "diversity": diversity}).dropna(subset=["value", "naturalness"])
    # A request without a diversity rating counts at the mean diversity: no bonus, no penalty.
    fill = float(table["diversity"].mean()) if table["diversity"].notna().any() else 0.0
    table["objective"] = table["naturalness"] + config.diversity_weight * table["diversity"].fillna(fill)
    return table


def _knob_value(parameters: Any, knob: str) -> float | None:
    if isinstance(parameters, str):
        parameters = json.loads(parameters)
    value = (parameters or {}).get(knob)
    return float(value) if value is not None else None
