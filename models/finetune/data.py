"""Feedback rows -> TRL-format training data. Pure pandas: no torch, no database.

Input frames have the columns of `feedback_db.frames` (ratings, set_ratings, outputs); this
module only relies on those column names, never on the database itself. A "completion" is the
output's text, or its image path for the image modality.

The rules (also in docs/RETRAIN.md):
1. Flagged outputs are dropped everywhere.
2. Each rating row scores its output as the mean of what the rater gave (naturalness,
   reliability, thumbs up = 5 / down = 1); an output's score is the weighted mean over raters
   (annotators weigh `annotator_weight`, end users `end_user_weight`).
3. Prompts are normalised (case, spaces) and pooled: the same prompt asked twice is one prompt,
   so popular prompts do not dominate, and identical completions are kept once.
4. A held-out share of *prompts* (by a stable hash) never reaches training. The share aims at
   `heldout_target_prompts` held-out prompts, between `heldout_min_fraction` and
   `heldout_max_fraction` of all prompts: few prompts give up to half to the gate, many give
   the minimum share (so the held-out set still grows with the data). As prompts accumulate the
   share only falls, and a prompt is held out when its hash is below the share: every prompt
   held out now was held out in every earlier run, so no earlier version trained on it.
5. Pairs (DPO): the best pick beats every other candidate of its request; within a prompt any
   two outputs whose scores differ by at least `min_score_gap` make a pair.
6. Labels (KTO): score >= `desirable_min_score` is desirable, <= `undesirable_max_score` is not.
7. SFT: outputs scoring >= `sft_min_score`.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from models.base import Modality, check_modality

THUMB_SCORES = {1: 5.0, -1: 1.0}
CONTENT_COLUMNS: dict[Modality, str] = {"text": "text", "image": "image_path"}


@dataclass(frozen=True)
class DataConfig:
    annotator_weight: float = 2.0  # annotators follow the guidelines: their ratings count double
    end_user_weight: float = 1.0
    min_score_gap: float = 1.5  # smaller gaps are mostly rating noise
    max_pairs_per_prompt: int = 8
    desirable_min_score: float = 4.0
    undesirable_max_score: float = 2.5
    sft_min_score: float = 4.0
    heldout_target_prompts: int = 20  # enough for the gate's sign test to see a clear win
    heldout_min_fraction: float = 0.2
    heldout_max_fraction: float = 0.5
    seed: int = 0

    def heldout_fraction(self, prompts: int) -> float:
        """The share of `prompts` distinct prompts to hold out (see rule 4)."""
        wanted = self.heldout_target_prompts / max(prompts, 1)
        return min(max(wanted, self.heldout_min_fraction), self.heldout_max_fraction)


@dataclass
class FeedbackDatasets:
    """TRL-format rows, split by prompt into training and held-out parts."""

    modality: Modality
    pairs: list[dict[str, Any]] = field(default_factory=list)  # prompt/chosen/rejected/weight
    unpaired: list[dict[str, Any]] = field(default_factory=list)  # prompt/completion/label
    sft: list[dict[str, Any]] = field(default_factory=list)  # prompt/completion
    heldout_pairs: list[dict[str, Any]] = field(default_factory=list)
    heldout_unpaired: list[dict[str, Any]] = field(default_factory=list)
    heldout_prompts: list[str] = field(default_factory=list)
    # Every rated output with its score (prompt/completion/score/heldout): what the report's
    # behaviour scorer learns the raters' taste from.
    rated: list[dict[str, Any]] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)

    def summary(self) -> dict[str, int]:
        return {
            **self.counts,
            "pairs": len(self.pairs),
            "unpaired": len(self.unpaired),
            "unpaired_desirable": sum(1 for row in self.unpaired if row["label"]),
            "sft": len(self.sft),
            "heldout_pairs": len(self.heldout_pairs),
            "heldout_unpaired": len(self.heldout_unpaired),
            "heldout_prompts": len(self.heldout_prompts),
        }


def normalise_prompt(prompt: str) -> str:
    return re.sub(r"\s+", " ", prompt.strip().lower())


def is_heldout(prompt: str, fraction: float, seed: int = 0) -> bool:
    """Stable split: the same prompt is always on the same side, run after run."""
    digest = hashlib.sha256(f"{seed}:{normalise_prompt(prompt)}".encode()).digest()
    return int.from_bytes(digest[:4], "big") / 2**32 < fraction


def score_outputs(ratings: pd.DataFrame, config: DataConfig) -> pd.DataFrame:
    """One row per rated, unflagged output: its weighted score and how much weight backs it."""
    if ratings.empty:
        return pd.DataFrame(columns=["output_id", "score", "weight", "raters"])
    rows = ratings[~ratings["flagged"].astype(bool)].copy()
    thumbs = rows["thumbs"].map(THUMB_SCORES)
    axes = pd.concat([rows["naturalness"], rows["reliability"], thumbs], axis=1).astype(float)
    rows["row_score"] = axes.mean(axis=1, skipna=True)
    rows = rows.dropna(subset=["row_score"])
    rows["weight"] = (
        rows["source"].map({"annotator": config.annotator_weight, "end_user": config.end_user_weight}).fillna(config.end_user_weight)
    )
    rows["weighted"] = rows["row_score"] * rows["weight"]
    grouped = rows.groupby("output_id").agg(weighted=("weighted", "sum"), weight=("weight", "sum"), raters=("rater_id", "nunique"))
    grouped["score"] = grouped["weighted"] / grouped["weight"]
    return grouped.reset_index()[["output_id", "score", "weight", "raters"]]


def build_datasets(
    modality: Modality,
    ratings: pd.DataFrame,
    set_ratings: pd.DataFrame,
    outputs: pd.DataFrame,
    config: DataConfig = DataConfig(),
) -> FeedbackDatasets:
    """Turn one modality's feedback frames into pairs, labels and SFT rows, split by prompt."""
    # 1. Candidates of this modality that nobody flagged, with their scores where rated.
    content_column = CONTENT_COLUMNS[check_modality(modality)]
    flagged = set(ratings.loc[ratings["flagged"].astype(bool), "output_id"]) if not ratings.empty else set()
    candidates = outputs[(outputs["modality"] == modality) & ~outputs["output_id"].isin(flagged)].copy()
    candidates = candidates.dropna(subset=[content_column])
    candidates = candidates[candidates[content_column].astype(str).str.strip() != ""]
    candidates["completion"] = candidates[content_column].astype(str)
    candidates["prompt_key"] = candidates["prompt"].map(normalise_prompt)
    scored = candidates.merge(score_outputs(ratings, config), on="output_id", how="left")
    # 2. The same prompt asked twice is pooled; identical completions count once (best score).
    scored = scored.sort_values("score", ascending=False, na_position="last")
    scored = scored.drop_duplicates(subset=["prompt_key", "completion"], keep="first")
    # 3. Split prompts between training and held-out.
    fraction = config.heldout_fraction(int(scored["prompt_key"].nunique()))
    scored["heldout"] = scored["prompt"].map(lambda p: is_heldout(p, fraction, config.seed))
    datasets = FeedbackDatasets(modality=modality)
    datasets.counts = {
        "outputs": int(len(candidates)),
        "rated_outputs": int(scored["score"].notna().sum()),
        "flagged_outputs": int(len(flagged)),
        "prompts": int(scored["prompt_key"].nunique()),
    }
    datasets.rated = [
        {"prompt": str(row.prompt).strip(), "completion": row.completion, "score": float(row.score), "heldout": bool(row.heldout)}
        for row in scored.dropna(subset=["score"]).itertuples()
    ]
    best_pairs = _best_pick_pairs(scored, set_ratings, modality)
    for key, pool in scored.groupby("prompt_key", sort=True):
        heldout = bool(pool["heldout"].iloc[0])
        prompt = str(pool["prompt"].iloc[0]).strip()
        pairs = _merge_pairs(best_pairs.get(key, []), _gap_pairs(pool, config), config)
        unpaired = _labelled(pool, config)
        if heldout:
            datasets.heldout_prompts.append(prompt)
            datasets.heldout_pairs += pairs
            datasets.heldout_unpaired += unpaired
        else:
            datasets.pairs += pairs
            datasets.unpaired += unpaired
            datasets.sft += [
                {"prompt": prompt, "completion": row.completion}
                for row in pool.itertuples()
                if pd.notna(row.score) and row.score >= config.sft_min_score
            ]
    return datasets


def _pair(prompt: str, chosen: str, rejected: str, weight: float, origin: str) -> dict[str, Any]:
    return {"prompt": prompt, "chosen": chosen, "rejected": rejected, "weight": weight, "origin": origin}


def _best_pick_pairs(scored: pd.DataFrame, set_ratings: pd.DataFrame, modality: str) -> dict[str, list[dict[str, Any]]]:
    """Best pick beats every other (unflagged) candidate of its request."""
    pairs: dict[str, list[dict[str, Any]]] = {}
    if set_ratings.empty:
        return pairs
    picks = set_ratings[(set_ratings["modality"] == modality) & set_ratings["best_output_id"].notna()]
    by_request = {request_id: group for request_id, group in scored.groupby("request_id")}
    for pick in picks.itertuples():
        group = by_request.get(pick.request_id)
        if group is None or int(pick.best_output_id) not in set(group["output_id"]):
            continue  # the pick was flagged or deduplicated away
        best = group[group["output_id"] == int(pick.best_output_id)].iloc[0]
        for other in group[group["output_id"] != best.output_id].itertuples():
            if other.completion != best.completion:
                pairs.setdefault(best.prompt_key, []).append(
                    _pair(str(best.prompt).strip(), best.completion, other.completion, 1.0, "best_pick")
                )
    return pairs


def _gap_pairs(pool: pd.DataFrame, config: DataConfig) -> list[dict[str, Any]]:
    """Pairs of outputs for the same prompt whose scores differ by at least the gap."""
    rated = pool.dropna(subset=["score"]).sort_values("score", ascending=False)
    prompt = str(pool["prompt"].iloc[0]).strip()
    pairs = []
    for high in rated.itertuples():
        for low in rated.itertuples():
            gap = high.score - low.score
            if gap >= config.min_score_gap:
                pairs.append(_pair(prompt, high.completion, low.completion, float(gap), "rating_gap"))
    return pairs


def _merge_pairs(best: list[dict[str, Any]], gaps: list[dict[str, Any]], config: DataConfig) -> list[dict[str, Any]]:
    """Best picks first, then the widest gaps; one pair per (chosen, rejected); capped per prompt."""
    merged: dict[tuple[str, str], dict[str, Any]] = {}
    for pair in best + sorted(gaps, key=lambda p: -p["weight"]):
        key = (pair["chosen"], pair["rejected"])
        if key not in merged and (pair["rejected"], pair["chosen"]) not in merged:
            merged[key] = pair
    return list(merged.values())[: config.max_pairs_per_prompt]


def _labelled(pool: pd.DataFrame, config: DataConfig) -> list[dict[str, Any]]:
    prompt = str(pool["prompt"].iloc[0]).strip()
    rows = []
    for row in pool.dropna(subset=["score"]).itertuples():
        if row.score >= config.desirable_min_score:
            rows.append({"prompt": prompt, "completion": row.completion, "label": True})
        elif row.score <= config.undesirable_max_score:
            rows.append({"prompt": prompt, "completion": row.completion, "label": False})
    return rows


def sample_rows(rows: list[dict[str, Any]], k: int = 2) -> str:
    """A short, readable sample of rows for `--dry-run`."""
    shown = [{key: _shorten(value) for key, value in row.items()} for row in rows[:k]]
    return json.dumps(shown, indent=2, ensure_ascii=False)


def _shorten(value: Any, limit: int = 100) -> Any:
    if isinstance(value, str) and len(value) > limit:
        return value[: limit - 1] + "…"
    return value
