"""Learn a version's default sampling settings from diversity and naturalness ratings, only
from a comparison.

Pure pandas/scipy. Requests are bucketed by the value of one sampling knob (temperature for
text, guidance scale for images; `learn_knobs` runs the same rule on each knob of
`KNOB_TABLES` on its own, for one person's defaults). Each rated request gets an objective: its
mean naturalness plus `diversity_weight` x its diversity (1-5 each). A new default is learned
only when:

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
import math
import numbers
from dataclasses import dataclass
from typing import Any

import pandas as pd
from scipy.stats import binomtest, ttest_ind

from models.base import Modality, check_modality

TEST = "one-sided Welch t-test, best bucket vs runner-up"


@dataclass(frozen=True)
class Knob:
    """One sampling knob and how its values are bucketed.

    `width` is the bucket width (values round to the nearest multiple); with `log2` buckets are
    powers of two instead, for a knob whose preference is a ratio ("about twice as long"), not a
    difference. `low`/`high` are the knob's valid range (the params' `validate`): a bucket centre
    outside it (steps 2 rounds to 0) is pulled back in, so a learned value is always servable."""

    name: str
    width: float
    low: float
    high: float
    log2: bool = False
    whole: bool = False  # an int parameter: the learned value is an int

    def learned_value(self, bucket: float, used: pd.Series) -> float:
        """The value a winning bucket stands for. A power-of-two bucket is wide (384 falls in 512):
        its value is the one the person used most in it (ties: the smaller), so a person who kept
        the default 384 gets 384, not a length they never tried; other buckets are their centre."""
        if not self.log2:
            return bucket
        counts = used.value_counts()
        most = min(v for v, c in counts.items() if c == counts.max())
        return float(round(most)) if self.whole else round(float(most), 3)

    def bucket(self, value: float) -> float:
        centre = 2.0 ** round(math.log2(max(value, 1.0))) if self.log2 else round(value / self.width) * self.width
        centre = min(max(centre, self.low), self.high)
        return float(round(centre)) if self.whole else round(centre, 3)


# The first knob of each modality is the one the global learner (`learn_sampling_defaults`) and
# the arena's presets tune; `learn_knobs` (one person's defaults) tunes all of them. Widths:
# temperature and top-p by their sliders' 0.05-0.1 steps (finer splits one person's ratings too
# thin); length by powers of two (people set 64/128/256/512, and a taste for length is a ratio);
# guidance by 0.5 and steps by 5 (a few steps more or less is invisible in the image).
KNOB_TABLES: dict[Modality, tuple[Knob, ...]] = {
    "text": (
        Knob("temperature", 0.1, 0.0, 2.0),
        Knob("top_p", 0.05, 0.05, 1.0),
        Knob("max_new_tokens", 2.0, 1, 2048, log2=True, whole=True),
    ),
    "image": (Knob("guidance_scale", 0.5, 0.0, 30.0), Knob("steps", 5.0, 1, 150, whole=True)),
}
KNOBS: dict[Modality, tuple[str, float]] = {m: (t[0].name, t[0].width) for m, t in KNOB_TABLES.items()}  # the global knob, width


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
    knob = KNOB_TABLES[check_modality(modality)][0]
    from_ratings = _from_ratings(modality, knob, ratings, set_ratings, outputs, parent_defaults, config)
    if from_ratings["evidence"].get("learned"):
        return from_ratings
    arena = _from_arena(knob.name, preset_votes, config)
    if arena is None:
        return from_ratings
    if not arena["learned"]:
        return {**from_ratings, "evidence": {**from_ratings["evidence"], "arena": arena}}
    why = (
        f"arena: {knob.name} {arena['value']:g} won {arena['wins']} of {arena['wins'] + arena['losses']} decisive "
        f"preset battles (p = {arena['p_value']:.3g}); ratings: {from_ratings['evidence']['why']}"
    )
    return {knob.name: arena["value"], "evidence": {"learned": True, "source": "arena", "why": why, "arena": arena}}


def learn_knobs(
    modality: Modality,
    ratings: pd.DataFrame,
    set_ratings: pd.DataFrame,
    outputs: pd.DataFrame,
    config: SamplingConfig = SamplingConfig(),
) -> dict[str, dict[str, Any]]:
    """Each knob of `modality`'s table learned on its own from the ratings (no arena, no parent):
    {"temperature": {"temperature": 0.4, "evidence": {...}}, "top_p": {"evidence": {...}}, ...}.

    Each knob has its own buckets and its own comparison, so a person who varied only the length
    gets a length and nothing else. One person's requests often vary several knobs at once; the
    comparison is per knob, as the global one is for its knob."""
    checked = check_modality(modality)
    return {knob.name: _from_ratings(checked, knob, ratings, set_ratings, outputs, None, config) for knob in KNOB_TABLES[checked]}


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
    spec: Knob,
    ratings: pd.DataFrame,
    set_ratings: pd.DataFrame,
    outputs: pd.DataFrame,
    parent_defaults: dict[str, Any] | None,
    config: SamplingConfig,
) -> dict[str, Any]:
    """The rating-based comparison of knob buckets (steps 1-3 of the module docstring)."""
    knob = spec.name
    kept = {k: v for k, v in (parent_defaults or {}).items() if k != "evidence"}
    # 1. One row per rated request: its knob value and objective.
    table = _rated_requests(modality, knob, ratings, set_ratings, outputs, config)
    if table.empty:
        return {**kept, "evidence": {"learned": False, "why": "no rated requests with a recorded " + knob}}
    # 2. Buckets with enough rated requests.
    table["bucket"] = table["value"].map(spec.bucket)
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
    value = spec.learned_value(float(best), table.loc[table["bucket"] == best, "value"])
    return {
        knob: int(value) if spec.whole else round(value, 3),
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
    """The knob's value in a request's stored parameters; None when it is missing or junk (not
    JSON, not a dict, not a finite number): such a request says nothing about the knob."""
    if isinstance(parameters, str):
        try:
            parameters = json.loads(parameters)
        except ValueError:
            return None
    value = parameters.get(knob) if isinstance(parameters, dict) else None
    if isinstance(value, bool) or not isinstance(value, numbers.Real | str):
        return None
    try:
        number = float(value)
    except ValueError:
        return None
    return number if math.isfinite(number) else None
