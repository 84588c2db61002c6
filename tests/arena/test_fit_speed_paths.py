"""The leaderboard's fast paths give what the plain ones give: the stacked Newton fit, the win
matrices of many bootstrap rounds at once, and one BLAS thread only while a leaderboard runs."""

from __future__ import annotations

import threading

import numpy as np
from threadpoolctl import threadpool_info

from feedback_db.blas_threads import one_blas_thread
from feedback_db.bradley_terry import fit_bradley_terry, fit_stack, scores_of_a, win_matrix


def blas_threads() -> set[int]:
    return {pool["num_threads"] for pool in threadpool_info() if pool["user_api"] == "blas"}


def test_a_stack_of_win_matrices_fits_as_each_alone():
    rng = np.random.default_rng(3)
    wins = rng.poisson(rng.uniform(0.5, 40, (6, 1, 1)), (6, 7, 7)).astype(float)
    wins[:, np.arange(7), np.arange(7)] = 0
    wins[0, 0, :], wins[0, :, 0] = 4.0, 0.0  # an unbeaten contestant: finite only by the prior
    wins[0, 0, 0] = 0.0
    together = fit_stack(wins, start=np.linspace(-1, 1, 7))
    alone = np.stack([fit_bradley_terry(w) for w in wins])
    np.testing.assert_allclose(together, alone, atol=1e-7)
    np.testing.assert_allclose(together.mean(axis=1), 0, atol=1e-12)
    assert together[0, 0] == together[0].max() and np.isfinite(together).all()


def test_win_matrices_of_many_rounds_are_each_rounds_matrix():
    a, b = np.array([0, 1, 2, 0]), np.array([1, 2, 0, 2])
    score = scores_of_a(np.array(["a", "tie", "b", "a"]))
    amounts = np.array([[1.0, 2.0, 0.0, 3.0], [0.0, 1.0, 4.0, 0.5]])
    stacked = win_matrix(3, a, b, score, amounts)
    for row, matrix in zip(amounts, stacked, strict=True):
        np.testing.assert_array_equal(matrix, win_matrix(3, a, b, score, row))
    assert stacked[0, 1, 2] == 1.0 and stacked[0, 2, 1] == 1.0  # a tie is half a win each way


def test_scores_of_a_leave_both_bad_out():
    np.testing.assert_array_equal(scores_of_a(np.array(["a", "b", "tie", "both_bad"])), [1.0, 0.0, 0.5, np.nan])


def test_one_blas_thread_while_inside_and_the_old_count_after_even_with_two_threads():
    before = blas_threads()
    inside: list[set[int]] = []
    entered = threading.Event()

    def other() -> None:
        with one_blas_thread():
            entered.set()
            inside.append(blas_threads())

    with one_blas_thread():
        thread = threading.Thread(target=other)
        thread.start()
        inside.append(blas_threads())
        assert not entered.wait(0.3)  # the second caller waits for its turn
        with one_blas_thread():  # re-entrant in the same thread
            inside.append(blas_threads())
    thread.join(5)
    assert entered.is_set() and inside == [{1}, {1}, {1}]
    assert blas_threads() == before
