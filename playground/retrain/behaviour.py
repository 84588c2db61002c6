"""Behaviour, not only likelihood: do the new version's answers score better with the raters?

The gate compares likelihoods of rated outputs. A version can move those and still answer the
same way, so the report also compares what both versions *produce* on held-out prompts:

1. a simple scorer learns the raters' taste: ridge regression (scikit-learn `RidgeCV`) from
   automatic per-output features (text: words, characters, sentences...; images: brightness,
   contrast, saturation) to the output's rating score, fitted on the training side's rated
   outputs; its cross-validated R^2 says how much of the ratings it explains;
2. both versions answer the first held-out prompts with the same seeds, and the scorer predicts
   a rating for every answer;
3. the report shows both mean predicted ratings, the prompts where the new version's answers
   scored higher, each feature's rank correlation with the ratings, and the raw metrics.

A figure for the report only: the promotion decision stays with the gate's test.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from models.finetune.data import FeedbackDatasets

MIN_RATED = 12  # fewer rated outputs than this cannot fit even a few coefficients


@dataclass
class RatingScorer:
    """Ridge regression from features to rating score, with how well it predicts unseen rows."""

    features: list[str]
    rows: int
    r2_cv: float  # 5-fold cross-validated R^2: 0 = no better than the mean rating
    correlations: dict[str, float]  # Spearman correlation of each feature with the rating
    model: Any = field(repr=False)

    def predict(self, rows: list[dict[str, float]]) -> np.ndarray:
        return self.model.predict(_matrix(rows, self.features))


@dataclass
class BehaviourComparison:
    prompts: int
    old: dict[str, float]  # automatic metrics of the active version's answers
    new: dict[str, float]
    predicted_old: float | None = None  # mean predicted rating of the answers (1-5)
    predicted_new: float | None = None
    prompts_improved: int = 0  # held-out prompts whose answers' mean prediction rose
    scorer: dict[str, Any] = field(default_factory=dict)
    note: str = ""


def fit_rating_scorer(features: list[dict[str, float]], scores: Sequence[float]) -> RatingScorer | None:
    """Fit the scorer, or None when there are too few or too uniform ratings."""
    from scipy.stats import spearmanr
    from sklearn.linear_model import RidgeCV
    from sklearn.model_selection import KFold, cross_val_predict
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    y = np.asarray(scores, dtype=float)
    if len(y) < MIN_RATED or np.ptp(y) == 0:
        return None
    names = sorted(features[0])
    x = _matrix(features, names)
    model = make_pipeline(StandardScaler(), RidgeCV(alphas=np.logspace(-2, 3, 12)))
    predicted = cross_val_predict(model, x, y, cv=KFold(5, shuffle=True, random_state=0))
    r2 = 1.0 - float(np.sum((y - predicted) ** 2) / np.sum((y - y.mean()) ** 2))
    correlations = {}
    for column, name in enumerate(names):
        rho = spearmanr(x[:, column], y).statistic if np.ptp(x[:, column]) > 0 else 0.0
        correlations[name] = round(float(rho), 3)
    return RatingScorer(names, len(y), round(r2, 3), correlations, model.fit(x, y))


def compare_behaviour(
    datasets: FeedbackDatasets,
    samples: dict[str, list[tuple[str, Any]]],
    features: Callable[[Sequence[Any]], list[dict[str, float]]],
    summary: Callable[[Sequence[Any]], dict[str, float]],
    load: Callable[[str], Any],
) -> BehaviourComparison:
    """Score both versions' samples (`samples["old"]`, `samples["new"]`) with a scorer fitted on
    the training side's rated outputs."""
    old, new = samples.get("old", []), samples.get("new", [])
    prompts = sorted({p for p, _ in old})
    comparison = BehaviourComparison(len(prompts), summary([o for _, o in old]) if old else {},
                                     summary([o for _, o in new]) if new else {})
    if not old or not new:
        comparison.note = "no held-out prompts were sampled"
        return comparison
    # 1. Learn the raters' taste from the training side only.
    training = [row for row in datasets.rated if not row["heldout"]]
    scorer = fit_rating_scorer(features([load(row["completion"]) for row in training]), [row["score"] for row in training]) if training else None
    if scorer is None:
        comparison.note = f"{len(training)} rated training outputs: too few (or all alike) to fit a rating scorer"
        return comparison
    comparison.scorer = {"rows": scorer.rows, "r2_cv": scorer.r2_cv, "correlations": scorer.correlations}
    # 2. Predict a rating for every sampled answer; compare per prompt (same prompts and seeds).
    old_scores = scorer.predict(features([o for _, o in old]))
    new_scores = scorer.predict(features([o for _, o in new]))
    comparison.predicted_old = round(float(old_scores.mean()), 3)
    comparison.predicted_new = round(float(new_scores.mean()), 3)
    by_prompt_old = _per_prompt([p for p, _ in old], old_scores)
    by_prompt_new = _per_prompt([p for p, _ in new], new_scores)
    comparison.prompts_improved = sum(by_prompt_new[p] > by_prompt_old[p] for p in prompts)
    if scorer.r2_cv < 0.1:
        comparison.note = f"the scorer explains little of the ratings (cross-validated R^2 {scorer.r2_cv}): read with care"
    return comparison


def _matrix(rows: list[dict[str, float]], names: list[str]) -> np.ndarray:
    return np.array([[float(row.get(name, 0.0)) for name in names] for row in rows], dtype=float)


def _per_prompt(prompts: list[str], scores: np.ndarray) -> dict[str, float]:
    groups: dict[str, list[float]] = {}
    for prompt, score in zip(prompts, scores, strict=True):
        groups.setdefault(prompt, []).append(float(score))
    return {prompt: float(np.mean(values)) for prompt, values in groups.items()}
