"""The gate's direction: a version that prefers the chosen completions wins, its inverse loses."""

from models.finetune.evaluate import GateConfig, evaluate_labels, evaluate_pairs

PAIRS = [{"prompt": f"p{i}", "chosen": f"short {i}", "rejected": f"a much longer answer {i}"} for i in range(10)]


def scorer(bias: float):
    """Log-prob = -length, shifted by `bias` per word for short answers."""
    def score(prompts, completions):
        return [(-len(c.split()) + (bias if c.startswith("short") else 0.0), len(c.split())) for c in completions]
    return score


def test_a_version_raising_chosen_completions_wins():
    evaluation = evaluate_pairs(PAIRS, scorer(0.0), scorer(1.0))
    assert evaluation.wins and evaluation.new["win_rate_vs_old"] == 1.0


def test_a_version_trained_on_inverted_feedback_loses():
    evaluation = evaluate_pairs(PAIRS, scorer(0.0), scorer(-1.0))
    assert not evaluation.wins and evaluation.new["win_rate_vs_old"] == 0.0
    assert "below" in evaluation.reason


def test_an_unchanged_version_does_not_win():
    assert not evaluate_pairs(PAIRS, scorer(0.0), scorer(0.0)).wins


def test_too_few_rows_never_promote():
    assert not evaluate_pairs(PAIRS[:2], scorer(0.0), scorer(1.0), GateConfig(min_rows=4)).wins


def test_labels_gate_direction():
    rows = [{"prompt": "p", "completion": "short x", "label": True}, {"prompt": "p", "completion": "long long x", "label": False}] * 3
    assert evaluate_labels(rows, scorer(0.0), scorer(1.0)).wins
    assert not evaluate_labels(rows, scorer(0.0), scorer(-1.0)).wins


def test_heldout_gate_uses_pairs_when_there_are_any_else_labels():
    from types import SimpleNamespace

    from models.finetune.evaluate import evaluate_heldout

    labels = [{"prompt": "p", "completion": "short x", "label": True}, {"prompt": "p", "completion": "long long x", "label": False}] * 3
    assert evaluate_heldout(SimpleNamespace(heldout_pairs=PAIRS, heldout_unpaired=labels), scorer(0.0), scorer(1.0)).metric == "heldout_pair_win_rate"
    assert evaluate_heldout(SimpleNamespace(heldout_pairs=[], heldout_unpaired=labels), scorer(0.0), scorer(1.0)).metric == "heldout_label_advantage"
