"""The judge (fitted on the raters' pairs) and the gate that combines judged answers with margins:
direction, refusal of a judge that predicts nothing, and the combination's error rate by simulation."""

from __future__ import annotations

import numpy as np
import pytest

from models.finetune.combine import combine
from models.finetune.data import FeedbackDatasets
from models.finetune.evaluate import GateConfig, evaluate_votes
from models.finetune.judge import fit_judge
from playground.retrain.behaviour import judge_answers
from playground.retrain.publish import decide_promotion

DIMENSIONS = 20


def vectors(rng: np.random.Generator, count: int, liked: float) -> np.ndarray:
    """Random outputs whose first coordinate (the feature the raters like) is shifted by `liked`."""
    x = rng.normal(size=(count, DIMENSIONS))
    x[:, 0] += liked
    return x


def test_a_judge_learns_the_raters_choice_and_says_how_well():
    rng = np.random.default_rng(0)
    chosen, rejected = vectors(rng, 60, 1.0), vectors(rng, 60, -1.0)
    judge = fit_judge(chosen, rejected, [f"p{i // 3}" for i in range(60)])
    assert judge.accepted and judge.cv_accuracy >= 0.75 and judge.chance_p < 1e-4, judge
    fresh_liked, fresh_other = vectors(rng, 50, 1.0), vectors(rng, 50, -1.0)
    assert judge.accuracy(fresh_liked, fresh_other) > 0.8


def test_a_judge_that_predicts_no_better_than_chance_is_refused():
    refused = 0
    for seed in range(20):
        rng = np.random.default_rng(seed)
        judge = fit_judge(vectors(rng, 60, 0.0), vectors(rng, 60, 0.0), [f"p{i // 3}" for i in range(60)])
        refused += not judge.accepted
        if not judge.accepted:
            assert judge.reason.startswith("refused as a judge: cross-validated accuracy") and judge.model is None
    assert refused >= 17  # accepted at most alpha of the time (here 1 in 20 expected)
    assert not fit_judge(np.zeros((5, 3)), np.ones((5, 3)), list("abcde")).accepted  # too few pairs


def signal(rng: np.random.Generator, prompts: int, win_rate: float, gate: GateConfig) -> tuple:
    """A sign-test evaluation whose per-prompt votes are wins with probability `win_rate`."""
    votes = np.where(rng.random(prompts) < win_rate, 1.0, -1.0) * rng.exponential(1.0, prompts)
    return evaluate_votes("simulated", votes, prompts, {}, {}, gate), votes


@pytest.mark.parametrize("correlation", [0.0, 0.9])
def test_the_combined_gate_promotes_a_no_better_version_at_most_alpha_of_the_time(correlation):
    """Null runs: both signals see a version that is no better (independent, or strongly alike)."""
    gate, rng, runs, promoted = GateConfig(alpha=0.05), np.random.default_rng(1), 4000, 0
    for _ in range(runs):
        margins, votes = signal(rng, 20, 0.5, gate)
        noise = rng.normal(size=20)
        answers = evaluate_votes("simulated", correlation * votes + (1 - correlation) * noise, 20, {}, {}, gate)
        promoted += decide_promotion(combine(margins, answers, gate)).promote
    rate = promoted / runs
    assert rate <= gate.alpha + 3 * np.sqrt(gate.alpha * (1 - gate.alpha) / runs), rate


def test_a_true_preference_is_promoted_and_a_contradicted_one_is_not():
    gate, rng = GateConfig(), np.random.default_rng(2)
    promoted = 0
    for _ in range(500):  # the answers show a clear win (80% of 24 prompts), the margins a weak one
        answers, _ = signal(rng, 24, 0.8, gate)
        margins, _ = signal(rng, 24, 0.55, gate)
        promoted += decide_promotion(combine(margins, answers, gate)).promote
    assert promoted / 500 > 0.8, promoted
    clear = evaluate_votes("answers", np.ones(20), 40, {}, {}, gate)
    worse = evaluate_votes("margins", -np.ones(20), 40, {}, {}, gate)
    verdict = combine(worse, clear, gate)
    assert verdict.verdict == "not-better" and "say it is worse" in verdict.reason
    assert combine(worse, None, gate) is worse  # no usable judge: the margin test alone, as before


def test_judged_answers_see_what_the_new_version_says():
    """Training pairs prefer short answers; the new version answers shorter on held-out prompts."""
    rng = np.random.default_rng(3)
    pairs = []
    for k in range(30):
        short, long = int(rng.integers(2, 8)), int(rng.integers(20, 40))
        pairs.append({"prompt": f"p{k // 2}", "chosen": "w " * short, "rejected": "w " * long})

    def represent(texts):
        return np.array([[len(t.split()), len(t) % 3] for t in texts], dtype=float)

    datasets = FeedbackDatasets(modality="text", pairs=pairs, heldout_pairs=[{"prompt": "h", "chosen": "w " * 3, "rejected": "w " * 30}])
    samples = {"old": [(f"h{k}", "w " * 30) for k in range(12)], "new": [(f"h{k}", "w " * 4) for k in range(12)]}
    judge, answers = judge_answers(datasets, samples, represent, lambda c: c)
    assert judge.accepted and judge.heldout_accuracy == 1.0
    assert answers.verdict == "better" and answers.wins == 12 and answers.new["effect_size"] > 0
    _, same = judge_answers(datasets, {"old": samples["old"], "new": samples["old"]}, represent, lambda c: c)
    assert same.ties == 12 and same.verdict == "not-better"
    refused, none = judge_answers(FeedbackDatasets(modality="text", pairs=pairs[:4]), samples, represent, lambda c: c)
    assert not refused.accepted and none is None


# -- evidence that accumulates (models/finetune/sequential.py) -------------------------------


def test_the_e_value_matches_its_integral_and_grows_with_wins():
    from scipy.integrate import quad

    from models.finetune.sequential import e_value

    for wins, losses in ((0, 0), (3, 1), (10, 4), (2, 9)):
        integral = 2 * quad(lambda t, w=wins, n=losses: (2 * t) ** w * (2 * (1 - t)) ** n, 0.5, 1)[0]
        assert e_value(wins, losses) == pytest.approx(integral, rel=1e-6)
    assert e_value(0, 0) == pytest.approx(1.0) and e_value(12, 2) > e_value(10, 4) > e_value(7, 7)


def nights_to_promotion(rng: np.random.Generator, win_rate: float, nights: int, prompts_per_night: int, alpha: float) -> int | None:
    """Look every night at the running tally of new held-out prompts; the night it passes, or None."""
    from models.finetune.sequential import RunningEvidence

    evidence = RunningEvidence()
    for night in range(1, nights + 1):
        wins = int((rng.random(prompts_per_night) < win_rate).sum())
        evidence = evidence.add(wins, prompts_per_night - wins, 0)
        if evidence.passes(alpha):
            return night
    return None


@pytest.mark.slow  # thirty simulated nights; `make test` runs it
def test_thirty_nights_of_null_feedback_promote_at_most_alpha_of_the_time():
    rng, alpha, runs = np.random.default_rng(4), 0.05, 2000
    promoted = sum(nights_to_promotion(rng, 0.5, 30, 6, alpha) is not None for _ in range(runs))
    assert promoted / runs <= alpha + 3 * np.sqrt(alpha * (1 - alpha) / runs), promoted / runs
    # The same looks with the fixed-size sign test each night would promote far more often.
    from scipy.stats import binomtest

    naive = 0
    for _ in range(500):
        wins = np.cumsum(rng.random(30 * 6) < 0.5)
        naive += any(binomtest(int(wins[n * 6 - 1]), n * 6, 0.5, alternative="greater").pvalue <= alpha for n in range(1, 31))
    assert naive / 500 > 2 * alpha


def test_a_modest_true_preference_is_promoted_within_a_few_weeks_of_nights():
    """60% of prompts better, 6 new held-out prompts a night (docs/RETRAIN.md quotes these figures)."""
    rng = np.random.default_rng(5)
    nights = [nights_to_promotion(rng, 0.6, 60, 6, 0.05) for _ in range(400)]
    promoted = [n for n in nights if n is not None]
    assert len(promoted) / len(nights) >= 0.8
    assert np.median(promoted) <= 30, np.median(promoted)


@pytest.mark.real_model
def test_the_text_judge_on_minilm_learns_what_the_answers_are_about():
    """Real sentence vectors: raters who prefer answers about animals to answers about machines,
    worded every which way, with the same length on both sides (only meaning tells them apart)."""
    from models.text_embedding import SentenceEmbedder

    animals = ["dog", "cat", "horse", "owl", "fox", "rabbit", "whale", "tiger", "sparrow", "goat", "otter", "bear"]
    machines = ["tractor", "laptop", "engine", "printer", "drone", "crane", "truck", "router", "robot", "pump", "lathe", "radio"]
    frames = [
        "The {} was there all day.",
        "I saw a {} near the river.",
        "A {} is what I remember most.",
        "Everyone talked about the {}.",
        "There was a quiet {} by the door.",
    ]
    embedder = SentenceEmbedder()
    chosen = [frame.format(a) for a in animals[:8] for frame in frames[:3]]
    rejected = [frame.format(m) for m in machines[:8] for frame in frames[:3]]
    judge = fit_judge(embedder.embed(chosen), embedder.embed(rejected), [f"p{i // 3}" for i in range(len(chosen))])
    assert judge.accepted and judge.cv_accuracy >= 0.8, judge
    unseen_liked = embedder.embed([frame.format(a) for a in animals[8:] for frame in frames[3:]])
    unseen_other = embedder.embed([frame.format(m) for m in machines[8:] for frame in frames[3:]])
    assert judge.accuracy(unseen_liked, unseen_other) >= 0.8
