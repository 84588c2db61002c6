"""The gate promotes on evidence only: its direction, its error rate, and "too little evidence"."""

from __future__ import annotations

import re
import zlib
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from models.finetune.evaluate import (
    GateConfig,
    evaluate_heldout,
    evaluate_labels,
    evaluate_pairs,
    power_table,
    sign_test_power,
    units_needed,
)
from playground.retrain.publish import decide_promotion

PAIRS = [{"prompt": f"p{i}", "chosen": f"short {i}", "rejected": f"a much longer answer {i}"} for i in range(20)]
LABELS = [
    row
    for i in range(12)
    for row in (
        {"prompt": f"good {i}", "completion": f"short {i}", "label": True},
        {"prompt": f"bad {i}", "completion": f"a long long answer {i}", "label": False},
    )
]


def scorer(bias: float, noise: float = 0.0, seed: int = 0):
    """Log-prob = -length, shifted by `bias` for short answers, plus fixed per-row noise."""

    def score(prompts, completions):
        rows = []
        for prompt, completion in zip(prompts, completions, strict=True):
            jitter = np.random.default_rng(zlib.crc32(f"{seed}|{prompt}|{completion}".encode())).normal(0, noise) if noise else 0.0
            rows.append((-len(completion.split()) + (bias if completion.startswith("short") else 0.0) + jitter, len(completion.split())))
        return rows

    return score


def test_a_version_raising_chosen_completions_is_promoted():
    evaluation = evaluate_pairs(PAIRS, scorer(0.0), scorer(1.0))
    assert evaluation.verdict == "better" and evaluation.wins == 20 and evaluation.p_value < 1e-5
    assert decide_promotion(evaluation).promote


def test_a_version_trained_on_inverted_feedback_is_refused():
    evaluation = evaluate_pairs(PAIRS, scorer(0.0), scorer(-1.0))
    assert evaluation.verdict == "not-better" and evaluation.losses == 20
    decision = decide_promotion(evaluation)
    assert not decision.promote and decision.status == "rejected"


def test_an_identical_version_shows_no_difference():
    evaluation = evaluate_pairs(PAIRS, scorer(0.0), scorer(0.0))
    assert evaluation.verdict == "not-better" and evaluation.ties == 20
    assert "no measurable difference" in evaluation.reason


def test_six_wins_of_nine_prompts_is_too_little_evidence():
    # The coin-flip case: 6 of 9 happens by chance one time in four.
    pairs = PAIRS[:9]

    def new(prompts, completions):  # better on prompts p0-p5, worse on p6-p8
        return [
            (s + (1.0 if int(p[1:]) < 6 else -1.0) * (c.startswith("short") - 0.5), t)
            for p, c, (s, t) in zip(prompts, completions, scorer(0.0)(prompts, completions), strict=True)
        ]

    evaluation = evaluate_pairs(pairs, scorer(0.0), new)

    assert (evaluation.wins, evaluation.losses, evaluation.prompts) == (6, 3, 9)
    assert evaluation.verdict == "insufficient-evidence" and evaluation.p_value == pytest.approx(0.254, abs=1e-3)
    assert "9 held-out prompts cannot show a difference of this size" in evaluation.reason
    decision = decide_promotion(evaluation)
    assert not decision.promote and decision.status == "insufficient-evidence"
    assert "the arena or more feedback decides" in decision.summary


def test_pairs_of_one_prompt_give_one_vote():
    pairs = [{"prompt": "same", "chosen": f"short {i}", "rejected": f"long long {i}"} for i in range(12)]
    evaluation = evaluate_pairs(pairs, scorer(0.0), scorer(1.0))
    assert evaluation.prompts == 1 and evaluation.rows == 12 and evaluation.verdict == "insufficient-evidence"


@pytest.mark.parametrize("kind", ["pairs", "labels"])
def test_a_version_no_better_is_promoted_at_most_at_the_error_rate(kind):
    # 100 gates, each a "random adapter": the new scores are the old ones plus fresh noise.
    gate = GateConfig(alpha=0.05)
    promoted = 0
    for seed in range(100):
        old, new = scorer(0.0, noise=0.5, seed=1000), scorer(0.0, noise=0.5, seed=seed)
        evaluation = evaluate_pairs(PAIRS, old, new, gate) if kind == "pairs" else evaluate_labels(LABELS, old, new, gate)
        promoted += decide_promotion(evaluation).promote
    assert promoted <= 8, promoted


def test_labels_gate_direction():
    assert evaluate_labels(LABELS, scorer(0.0), scorer(1.0)).verdict == "better"
    assert evaluate_labels(LABELS, scorer(0.0), scorer(-1.0)).verdict == "not-better"
    only_good = [row for row in LABELS if row["label"]]
    assert evaluate_labels(only_good, scorer(0.0), scorer(1.0)).verdict == "insufficient-evidence"


def test_heldout_gate_uses_pairs_when_there_are_any_else_labels_else_says_there_is_nothing():
    def datasets(pairs, labels):
        return SimpleNamespace(heldout_pairs=pairs, heldout_unpaired=labels, heldout_prompts=[])

    assert evaluate_heldout(datasets(PAIRS, LABELS), scorer(0.0), scorer(1.0)).metric.startswith("held-out pairs")
    assert evaluate_heldout(datasets([], LABELS), scorer(0.0), scorer(1.0)).metric.startswith("held-out labels")
    empty = evaluate_heldout(datasets([], []), scorer(0.0), scorer(1.0))
    assert empty.verdict == "insufficient-evidence" and not decide_promotion(empty).promote


def test_power_is_computed_and_the_table_in_the_docs_is_the_codes():
    assert sign_test_power(9, 0.5) <= 0.05  # the exact test keeps its error rate
    assert units_needed(0.5) is None and units_needed(0.9) < units_needed(0.7) < units_needed(0.6)
    docs = (Path(__file__).resolve().parents[2] / "docs" / "RETRAIN.md").read_text()
    table = {float(rate): int(prompts) for rate, prompts in re.findall(r"^\| (0\.\d+) \| (\d+) \|", docs, flags=re.M)}
    assert table == {rate: prompts for rate, prompts in power_table()}


def test_with_the_arena_gate_a_held_out_win_waits_for_the_arena():
    evaluation = evaluate_pairs(PAIRS, scorer(0.0), scorer(1.0))
    decision = decide_promotion(evaluation, arena_min_battles=50)
    assert not decision.promote and decision.status == "awaiting-arena"
    assert "arena decides after 50 battles" in decision.summary
    assert decide_promotion(evaluation).promote
