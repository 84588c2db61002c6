"""The behaviour comparison (a rating scorer fitted on feedback) and what the CLI prints."""

from __future__ import annotations

import numpy as np

from models.finetune.data import FeedbackDatasets
from playground.retrain.behaviour import compare_behaviour, fit_rating_scorer
from playground.retrain.text import text_features


def rated_lengths(count: int, seed: int = 0) -> list[dict]:
    """A rater who likes short answers: score falls with length, plus noise."""
    rng = np.random.default_rng(seed)
    rows = []
    for k in range(count):
        length = int(rng.integers(3, 80))
        score = float(np.clip(5 - length / 20 + rng.normal(0, 0.4), 1, 5))
        rows.append({"prompt": f"p{k}", "completion": " ".join(["word"] * length) + ".", "score": score, "heldout": False})
    return rows


def summary(texts):
    return {"count": len(texts), "mean_words": float(np.mean([len(t.split()) for t in texts]))}


def features(texts):
    return [text_features(t) for t in texts]


def test_the_scorer_learns_the_raters_taste_and_says_how_well():
    rows = rated_lengths(60)
    scorer = fit_rating_scorer(features([r["completion"] for r in rows]), [r["score"] for r in rows])
    assert scorer is not None and scorer.r2_cv > 0.5 and scorer.correlations["words"] < -0.5
    assert scorer.predict(features(["Short answer."]))[0] > scorer.predict(features([" ".join(["word"] * 70)]))[0]


def test_too_few_or_uniform_ratings_fit_nothing():
    assert fit_rating_scorer(features(["a", "b"]), [5, 1]) is None
    assert fit_rating_scorer(features(["a b"] * 20), [4.0] * 20) is None


def test_answers_that_moved_towards_the_taste_score_higher():
    datasets = FeedbackDatasets(modality="text", rated=rated_lengths(60))
    long, short = " ".join(["word"] * 60) + ".", "A short answer."
    samples = {"old": [(f"h{k}", long) for k in range(4)], "new": [(f"h{k}", short) for k in range(4)]}
    comparison = compare_behaviour(datasets, samples, features, summary, lambda c: c)
    assert comparison.predicted_new > comparison.predicted_old and comparison.prompts_improved == 4
    unchanged = compare_behaviour(datasets, {"old": samples["old"], "new": samples["old"]}, features, summary, lambda c: c)
    assert unchanged.predicted_new == unchanged.predicted_old and unchanged.prompts_improved == 0


def test_the_cli_prints_the_status_of_a_version_kept_for_lack_of_evidence(monkeypatch, tmp_path, capsys):
    import playground.retrain
    from playground.cli.main import main
    from playground.retrain import RetrainOutcome

    message = "insufficient-evidence: text-v2 kept as a candidate, too little evidence: 9 held-out prompts cannot show ..."
    monkeypatch.setattr(
        playground.retrain,
        "retrain",
        lambda settings, options: [RetrainOutcome("text", "insufficient-evidence", message, 1, "text-v2", tmp_path / "text-v2.md")],
    )
    assert main(["--data-dir", str(tmp_path), "retrain", "--modality", "text", "--alpha", "0.01"]) == 0
    out = capsys.readouterr().out
    assert f"[text] {message}" in out and "report:" in out
    assert main(["--data-dir", str(tmp_path), "retrain", "--alpha", "0.7"]) != 0
