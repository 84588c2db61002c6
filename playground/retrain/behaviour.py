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

The scorer is a figure for the report only. What the gate uses is the *judge*
(`models.finetune.judge`): fitted on the training side's pairs, it scores every sampled answer,
and one vote per held-out prompt (the new version's mean score minus the active one's) goes to
the same sign test as the margins (`judge_answers`; combined in `models.finetune.combine`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from models.finetune.data import FeedbackDatasets
from models.finetune.evaluate import Evaluation, GateConfig, evaluate_votes
from models.finetune.judge import Judge, fit_judge

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
        scores: np.ndarray = self.model.predict(_matrix(rows, self.features))
        return scores


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
    judge: dict[str, Any] = field(default_factory=dict)  # Judge.summary(): accuracy, accepted or why not
    answers: Evaluation | None = None  # the judged-answers sign test (None: no usable judge or samples)


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
    comparison = BehaviourComparison(len(prompts), summary([o for _, o in old]) if old else {}, summary([o for _, o in new]) if new else {})
    if not old or not new:
        comparison.note = "no held-out prompts were sampled"
        return comparison
    # 1. Learn the raters' taste from the training side only.
    training = [row for row in datasets.rated if not row["heldout"]]
    scorer = (
        fit_rating_scorer(features([load(row["completion"]) for row in training]), [row["score"] for row in training]) if training else None
    )
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


def judge_answers(
    datasets: FeedbackDatasets,
    samples: dict[str, list[tuple[str, Any]]],
    represent: Callable[[Sequence[Any]], np.ndarray],
    load: Callable[[str], Any],
    gate: GateConfig = GateConfig(),
) -> tuple[Judge | None, Evaluation | None]:
    """Fit the judge on the training pairs; if it predicts the raters, score both versions'
    answers and sign-test the per-prompt differences. (None, None) without training pairs."""
    if not datasets.pairs:
        return None, None
    vectors = _Vectors(represent, load)
    # 1. The judge learns the raters' choices from the training side only.
    judge = fit_judge(
        vectors.of([p["chosen"] for p in datasets.pairs]),
        vectors.of([p["rejected"] for p in datasets.pairs]),
        [p["prompt"] for p in datasets.pairs],
        gate.alpha,
    )
    if not judge.accepted:
        return judge, None
    if datasets.heldout_pairs:  # how well it predicts pairs it never saw, for the report
        judge.heldout_accuracy = judge.accuracy(
            vectors.of([p["chosen"] for p in datasets.heldout_pairs]), vectors.of([p["rejected"] for p in datasets.heldout_pairs])
        )
    old, new = samples.get("old", []), samples.get("new", [])
    if not old or not new:
        return judge, None
    # 2. Score every answer; one vote per prompt: the new version's mean minus the active one's.
    old_scores = judge.score(represent([o for _, o in old]))
    new_scores = judge.score(represent([o for _, o in new]))
    by_old, by_new = _per_prompt([p for p, _ in old], old_scores), _per_prompt([p for p, _ in new], new_scores)
    prompts = [p for p in by_old if p in by_new]
    votes = np.array([by_new[p] - by_old[p] for p in prompts])
    spread = float(np.std(old_scores)) or 1.0
    evaluation = evaluate_votes(
        "held-out prompts: the judge's score of both versions' answers (same seeds)",
        votes,
        len(old) + len(new),
        {"judge_score": round(float(old_scores.mean()), 4)},
        {
            "judge_score": round(float(new_scores.mean()), 4),
            "effect_size": round(float(votes.mean()) / spread, 3) if len(votes) else 0.0,
        },  # in SDs of the active's answers
        gate,
    )
    return judge, evaluation


class _Vectors:
    """`represent` of rated outputs, each distinct output computed once (pairs share outputs)."""

    def __init__(self, represent: Callable[[Sequence[Any]], np.ndarray], load: Callable[[str], Any]):
        self.represent, self.load = represent, load
        self.cache: dict[str, np.ndarray] = {}

    def of(self, completions: Sequence[str]) -> np.ndarray:
        missing = [c for c in dict.fromkeys(completions) if c not in self.cache]
        if missing:
            for completion, vector in zip(missing, self.represent([self.load(c) for c in missing]), strict=True):
                self.cache[completion] = vector
        return np.array([self.cache[c] for c in completions], dtype=float)
