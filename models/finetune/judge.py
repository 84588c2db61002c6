"""A judge fitted on the raters' own choices: which of two outputs of one prompt would they prefer?

The gate's margin test asks whether the new version finds the raters' chosen outputs more
likely; the judge lets the gate ask what users will see instead: both versions answer held-out
prompts, the judge scores every answer, and a sign test over prompts compares them
(`playground.retrain.behaviour`).

The judge is a Bradley-Terry model on output vectors (text: MiniLM sentence embeddings plus
simple measurements; images: their measurements): P(a beats b) = sigmoid(w . (x_a - x_b)),
fitted by L2-regularised logistic regression (scikit-learn) on the training side's pairs, each
pair in both orders, so no intercept and no side is favoured. Its accuracy is cross-validated by
*prompt* (GroupKFold: a prompt's pairs share outputs), and the judge is refused when that
accuracy is no better than chance (a one-sided binomial test at `alpha`): a judge that cannot
predict the raters has nothing to say about the new version's answers.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy.stats import binomtest

MIN_PAIRS = 12  # fewer training pairs cannot validate a judge
MIN_PROMPTS = 4  # cross-validation by prompt needs a few prompts per fold
FOLDS = 5
REGULARISATION_C = 0.1  # on standardised differences of up to ~400 dimensions: keep it smooth


@dataclass
class Judge:
    """A fitted preference judge and the evidence that it predicts the raters."""

    pairs: int  # training pairs it was fitted (and cross-validated) on
    prompts: int
    cv_accuracy: float  # share of cross-validated pairs whose chosen output it scored higher
    chance_p: float  # one-sided binomial p of that accuracy against 1/2
    accepted: bool
    reason: str
    heldout_accuracy: float | None = None  # on the held-out pairs (never trained on), if any
    model: Any = field(default=None, repr=False)

    def score(self, vectors: np.ndarray) -> np.ndarray:
        """A preference score per output: higher is what the raters would choose."""
        if self.model is None:
            raise ValueError("this judge was refused: it has no model")
        return _project(self.model, np.asarray(vectors, dtype=float))

    def accuracy(self, chosen: np.ndarray, rejected: np.ndarray) -> float:
        return float(np.mean(self.score(chosen) > self.score(rejected))) if len(chosen) else float("nan")

    def summary(self) -> dict[str, Any]:
        return {
            "pairs": self.pairs,
            "prompts": self.prompts,
            "cv_accuracy": round(self.cv_accuracy, 3),
            "chance_p": round(self.chance_p, 4),
            "accepted": self.accepted,
            "reason": self.reason,
            "heldout_accuracy": None if self.heldout_accuracy is None else round(self.heldout_accuracy, 3),
        }


def fit_judge(chosen: np.ndarray, rejected: np.ndarray, prompts: list[str], alpha: float = 0.05) -> Judge:
    """Fit on training pairs (rows of `chosen` beat the same rows of `rejected`), cross-validate
    by prompt, and accept the judge only if it predicts better than chance."""
    from sklearn.model_selection import GroupKFold

    # 1. Enough pairs and prompts to validate anything at all?
    chosen, rejected = np.asarray(chosen, dtype=float), np.asarray(rejected, dtype=float)
    distinct = len(set(prompts))
    if len(prompts) < MIN_PAIRS or distinct < MIN_PROMPTS:
        return Judge(
            len(prompts),
            distinct,
            float("nan"),
            1.0,
            False,
            f"{len(prompts)} training pairs on {distinct} prompts: a judge needs {MIN_PAIRS} pairs on {MIN_PROMPTS} prompts",
        )
    # 2. Cross-validated accuracy, folds by prompt.
    groups = np.array(prompts)
    correct = 0
    for train, test in GroupKFold(n_splits=min(FOLDS, distinct)).split(chosen, groups=groups):
        judge = _fit(chosen[train], rejected[train])
        correct += int(np.sum(_project(judge, chosen[test]) > _project(judge, rejected[test])))
    accuracy = correct / len(prompts)
    p_value = float(binomtest(correct, len(prompts), 0.5, alternative="greater").pvalue)
    # 3. Accept only a judge that predicts the raters; fit the final one on every training pair.
    accepted = p_value <= alpha
    reason = (
        f"cross-validated accuracy {accuracy:.2f} on {len(prompts)} training pairs of {distinct} prompts "
        f"(binomial p = {p_value:.3g} against chance, needs <= {alpha:g})"
    )
    return Judge(
        len(prompts),
        distinct,
        accuracy,
        p_value,
        accepted,
        reason if accepted else f"refused as a judge: {reason}",
        model=_fit(chosen, rejected) if accepted else None,
    )


def _fit(chosen: np.ndarray, rejected: np.ndarray) -> tuple[np.ndarray, Any]:
    from sklearn.linear_model import LogisticRegression

    difference = chosen - rejected
    x = np.concatenate([difference, -difference])
    y = np.concatenate([np.ones(len(difference)), np.zeros(len(difference))])
    scale = x.std(axis=0)
    scale[scale == 0] = 1.0
    classifier = LogisticRegression(C=REGULARISATION_C, fit_intercept=False, max_iter=2000).fit(x / scale, y)
    return scale, classifier


def _project(model: tuple[np.ndarray, Any], vectors: np.ndarray) -> np.ndarray:
    """w . x on the fitted scale: the judge's preference score (differences are linear in it)."""
    scale, classifier = model
    scores: np.ndarray = (vectors / scale) @ classifier.coef_.ravel()
    return scores
