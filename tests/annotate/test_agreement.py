"""Krippendorff's alpha (ordinal): a hand-computed example, the `krippendorff` package, the database."""

from __future__ import annotations

import math

import krippendorff
import numpy as np
import pytest

from feedback_db.agreement import agreement_frames, ordinal_alpha
from feedback_db.assignments import ItemRatings, QueuePolicy, load_item, next_item, submit

NAN = float("nan")


def test_hand_computed_example():
    # Two raters, three units: (1,1), (2,3), (3,3). Coincidences o11=2, o23=o32=1, o33=2, so
    # n1=2, n2=1, n3=3, n=6; ordinal distances d12=1.5^2, d23=2^2, d13=3.5^2.
    # sum(o*d) = 2*4 = 8; sum(n_c*n_k*d) = 2*(2*2.25 + 3*4 + 6*12.25) = 180;
    # alpha = 1 - (n-1)*8/180 = 1 - 40/180 = 7/9.
    assert ordinal_alpha(np.array([[1, 2, 3], [1, 3, 3]])) == pytest.approx(7 / 9)


def test_matches_the_krippendorff_package_with_missing_values():
    rng = np.random.default_rng(3)
    truth = rng.integers(1, 6, size=40)
    data = np.clip(truth + rng.integers(-1, 2, size=(4, 40)), 1, 5).astype(float)
    data[rng.random(data.shape) < 0.35] = np.nan  # some raters skip some units
    expected = krippendorff.alpha(reliability_data=data, level_of_measurement="ordinal")
    assert ordinal_alpha(data) == pytest.approx(expected, abs=1e-12)


def test_the_example_of_krippendorffs_paper():
    # Krippendorff (2011), "Computing Krippendorff's alpha-reliability", the 4 coders x 12 units example.
    data = np.array(
        [
            [1, 2, 3, 3, 2, 1, 4, 1, 2, NAN, NAN, NAN],
            [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, NAN, 3],
            [NAN, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, NAN],
            [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, NAN],
        ]
    )
    expected = krippendorff.alpha(reliability_data=data, level_of_measurement="ordinal")
    assert ordinal_alpha(data) == pytest.approx(expected, abs=1e-12)
    assert ordinal_alpha(data) == pytest.approx(0.815, abs=1e-3)  # the paper's ordinal alpha


def test_undefined_without_pairs_or_variation():
    assert math.isnan(ordinal_alpha(np.array([[1, NAN], [NAN, 2]])))
    assert math.isnan(ordinal_alpha(np.array([[3, 3], [3, 3]])))


def test_agreement_from_the_database(database, make_requests, make_annotators):
    make_requests(3, n=2)
    annotators = make_annotators("ann", "bob", "carol")
    scores = {"ann": [(5, 4), (2, 2)], "bob": [(5, 5), (1, 2)], "carol": [(4, 4), (2, 1)]}
    with database.sessions.begin() as session:
        for name, annotator in zip(scores, annotators, strict=True):
            for _ in range(3 if name != "carol" else 1):
                lease = next_item(session, annotator_id=annotator, policy=QueuePolicy(overlap=3))
                outputs = load_item(session, lease.request_id).outputs
                answer = ItemRatings({o.output_id: scores[name][o.index] for o in outputs}, diversity=3 if name != "bob" else 4)
                submit(session, annotator_id=annotator, request_id=lease.request_id, ratings=answer, policy=QueuePolicy(overlap=3))

    with database.read_sessions() as session:
        frames = agreement_frames(session)

    alpha = frames["agreement"].set_index("axis")
    assert alpha.loc["naturalness", "items"] == 6 and alpha.loc["naturalness", "annotators"] == 3
    assert alpha.loc["naturalness", "ratings"] == 14
    assert alpha.loc["naturalness", "alpha"] > 0.5
    pairs = frames["agreement_pairs"].set_index(["annotator_a", "annotator_b"])["co_rated_items"]
    assert pairs.to_dict() == {("ann", "bob"): 3, ("ann", "carol"): 1, ("bob", "carol"): 1}
