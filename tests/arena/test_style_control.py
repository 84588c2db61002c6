"""Style control: the features of an answer, and the Bradley-Terry fit with style covariates."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from feedback_db.leaderboard import compute_leaderboard
from feedback_db.style import STYLE_COLUMNS, has_style, relative_difference, style_covariates, style_features
from feedback_db.style_fit import fit_style


def test_style_features_of_a_markdown_answer():
    text = "# Title\n\nSome **bold** and __also bold__ words.\n\n- one\n- two\n1. first\n2) second\n## Sub\nno #header here"
    words, lists, headers, bold = style_features(text)
    assert (lists, headers, bold) == (4, 2, 2)
    assert words == len(text.split())
    assert style_features(None) == (0, 0, 0, 0) and style_features("") == (0, 0, 0, 0)


def test_relative_difference_and_standardised_covariates():
    np.testing.assert_allclose(relative_difference(np.array([3.0, 0.0, 1.0]), np.array([1.0, 0.0, 3.0])), [0.5, 0.0, -0.5])
    frame = pd.DataFrame({column: [1.0, 2.0, 3.0, 4.0] for column in STYLE_COLUMNS})
    frame["length_a"] = [10.0, 30.0, 5.0, 1.0]
    x = style_covariates(frame)
    assert x.shape == (4, 4)
    assert x[:, 0].mean() == pytest.approx(0) and x[:, 0].std() == pytest.approx(1)
    assert np.all(x[:, 1:] == 0)  # a feature equal on both sides never varies: stays 0


LONG, PLAIN = "long-writer", "plain-writer"
NAMES = [LONG, PLAIN, "strong", "weak"]
TRUTH = {LONG: 0.0, PLAIN: 0.0, "strong": 0.6, "weak": -0.6}
LENGTH_EFFECT = 0.5  # logit per standard deviation of the relative length difference


def style_battles(seed: int, n: int, length_effect: float) -> pd.DataFrame:
    """Battles where LONG writes about 3x longer answers than the rest, all else equal to PLAIN,
    and voters' odds move by `length_effect` per standardised length difference."""
    rng = np.random.default_rng(seed)
    a = rng.integers(0, len(NAMES), n)
    b = (a + rng.integers(1, len(NAMES), n)) % len(NAMES)
    names = np.array(NAMES)
    mean_length = np.where(names == LONG, 300.0, 100.0)
    frame = pd.DataFrame({"contestant_a": names[a], "contestant_b": names[b]})
    for side, index in (("a", a), ("b", b)):
        frame[f"length_{side}"] = np.round(mean_length[index] * rng.lognormal(0, 0.2, n))
        for feature in ("lists", "headers", "bold"):
            frame[f"{feature}_{side}"] = rng.poisson(2, n).astype(float)
    x = style_covariates(frame)
    strength = np.array([TRUTH[name] for name in NAMES])
    p = 1 / (1 + np.exp(-(strength[a] - strength[b] + length_effect * x[:, 0])))
    frame["outcome"] = np.where(rng.random(n) < p, "a", "b")
    return frame


def rows(table: pd.DataFrame) -> pd.DataFrame:
    return table.set_index("contestant")


def overlap(table: pd.DataFrame, first: str, second: str) -> bool:
    one, two = rows(table).loc[first], rows(table).loc[second]
    return bool(one.ci_low <= two.ci_high and two.ci_low <= one.ci_high)


def test_length_wins_raw_but_not_under_style_control_and_the_coefficient_is_recovered():
    board = compute_leaderboard(style_battles(11, 6000, LENGTH_EFFECT), rounds=200, seed=3)
    # Raw: the long writer wins on length alone, its CI clear of its equal's.
    assert not overlap(board.table, LONG, PLAIN)
    assert rows(board.table).loc[LONG, "score"] > rows(board.table).loc[PLAIN, "score"]
    # Style-controlled: the two equals overlap; the others keep their order.
    assert board.style_table is not None and board.coefficients is not None
    assert overlap(board.style_table, LONG, PLAIN)
    assert list(board.style_table["contestant"])[0] == "strong" and list(board.style_table["contestant"])[-1] == "weak"
    assert list(board.style_table.columns) == list(board.table.columns)
    # The length coefficient is recovered within its CI; the others are about nought.
    coefficients = board.coefficients.set_index("covariate")
    length = coefficients.loc["length"]
    assert length.ci_low <= LENGTH_EFFECT <= length.ci_high and length.ci_low > 0.3
    for feature in ("lists", "headers", "bold"):
        assert coefficients.loc[feature, "ci_low"] <= 0 <= coefficients.loc[feature, "ci_high"]


def test_style_fit_without_a_style_effect_matches_the_plain_fit():
    board = compute_leaderboard(style_battles(12, 4000, 0.0), rounds=0)
    assert board.style_table is not None
    plain, styled = rows(board.table), rows(board.style_table).reindex(rows(board.table).index)
    np.testing.assert_allclose(styled["score"], plain["score"], atol=15)


def test_linearised_bootstrap_agrees_with_refitting_every_round():
    """The one-step bootstrap's CIs against a bootstrap that refits the model on each resample."""
    frame = style_battles(15, 2000, LENGTH_EFFECT)
    index = {name: k for k, name in enumerate(NAMES)}
    a, b = frame["contestant_a"].map(index).to_numpy(), frame["contestant_b"].map(index).to_numpy()
    x, y, w = style_covariates(frame), (frame["outcome"] == "a").to_numpy(dtype=float), np.ones(len(frame))
    fast = fit_style(len(NAMES), a, b, x, y, w, rounds=400, seed=5)
    rng = np.random.default_rng(6)
    refits = []
    for _ in range(150):
        pick = rng.integers(0, len(frame), len(frame))
        fit = fit_style(len(NAMES), a[pick], b[pick], x[pick], y[pick], w[pick], rounds=0, seed=0)
        refits.append(np.concatenate([fit.strengths, fit.coefficients]))
    slow = np.array(refits)
    fast_all = np.hstack([fast.strength_samples, fast.coefficient_samples])
    ratio = fast_all.std(axis=0) / slow.std(axis=0)
    assert np.all((ratio > 0.8) & (ratio < 1.25)), ratio


def test_style_control_is_seeded():
    frame = style_battles(13, 800, LENGTH_EFFECT)
    first, again = compute_leaderboard(frame, rounds=50, seed=1), compute_leaderboard(frame, rounds=50, seed=1)
    assert first.coefficients is not None and again.coefficients is not None
    pd.testing.assert_frame_equal(first.coefficients, again.coefficients)


def test_no_style_table_without_features_or_with_missing_ones():
    frame = style_battles(14, 200, 0.0)
    assert compute_leaderboard(frame[["contestant_a", "contestant_b", "outcome"]], rounds=0).style_table is None
    images = frame.assign(length_a=np.nan)  # image battles carry no features
    assert not has_style(images) and compute_leaderboard(images, rounds=0).coefficients is None
