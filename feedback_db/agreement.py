"""Inter-annotator agreement: Krippendorff's alpha (ordinal) per axis, co-rated items per pair.

Why our own ~30 lines of numpy instead of the `krippendorff` package at runtime: the formula is
short and stable, the package would be one more runtime dependency (with its own numpy pins) for
it, and we need it on a few thousand values at most. The tests check this implementation against
the package (a test dependency) and against a hand-computed example.

Only annotator ratings (source "annotator") count: end users rate their own generations, so
their ratings almost never overlap. A unit is one output (naturalness, reliability) or one
request (diversity); units with fewer than two ratings carry no information about agreement and
are left out, as the definition of alpha says.
"""

from __future__ import annotations

from itertools import combinations

import numpy as np
import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session

from feedback_db.frames import ratings_frame, set_ratings_frame
from feedback_db.schema import User

AXES = {"naturalness": "output_id", "reliability": "output_id", "diversity": "request_id"}
SOURCE = "annotator"


def ordinal_alpha(reliability_data: np.ndarray) -> float:
    """Krippendorff's alpha, ordinal metric, for a raters x units matrix (NaN = not rated).

    Returns NaN when it is undefined: fewer than two pairable values, or no variation at all.
    """
    data = np.asarray(reliability_data, dtype=float)
    # 1. Keep the pairable units: those with at least two values.
    data = data[:, (~np.isnan(data)).sum(axis=0) >= 2]
    values = np.unique(data[~np.isnan(data)])
    if values.size == 0:
        return float("nan")
    # 2. How often each value occurs in each unit (units x values), and per unit in all.
    per_unit = np.stack([(data == v).sum(axis=0) for v in values], axis=1).astype(float)
    pairable = per_unit.sum(axis=1)
    # 3. The coincidence matrix: every ordered pair of values within a unit, weighted 1/(m_u - 1).
    weights = 1.0 / (pairable - 1)
    coincidence = np.einsum("u,uc,uk->ck", weights, per_unit, per_unit)
    coincidence -= np.diag((weights[:, None] * per_unit).sum(axis=0))
    totals = coincidence.sum(axis=1)
    n = totals.sum()
    # 4. Ordinal distance: the mass of the categories between c and k, halving the ends.
    cumulative = np.cumsum(totals)
    index = np.arange(values.size)
    low, high = np.minimum.outer(index, index), np.maximum.outer(index, index)
    between = cumulative[high] - cumulative[low] + totals[low]
    distance = (between - (totals[:, None] + totals[None, :]) / 2) ** 2
    # 5. alpha = 1 - observed / expected disagreement.
    observed = (coincidence * distance).sum()
    expected = (np.outer(totals, totals) * distance).sum()
    if expected == 0:
        return float("nan")
    return float(1 - (n - 1) * observed / expected)


def reliability_matrix(frame: pd.DataFrame, unit: str, value: str) -> np.ndarray:
    """raters x units from long rows (rater_id, unit, value)."""
    rated = frame.dropna(subset=[value])
    if rated.empty:
        return np.empty((0, 0))
    table = rated.pivot_table(index="rater_id", columns=unit, values=value, aggfunc="first")
    matrix: np.ndarray = table.to_numpy(dtype=float)
    return matrix


def alpha_frame(ratings: pd.DataFrame, set_ratings: pd.DataFrame) -> pd.DataFrame:
    """One row per axis: alpha, the items with at least two ratings, their ratings and raters."""
    rows = []
    for axis, unit in AXES.items():
        frame = set_ratings if unit == "request_id" else ratings
        matrix = reliability_matrix(_annotators_only(frame), unit, axis)
        pairable = matrix[:, (~np.isnan(matrix)).sum(axis=0) >= 2] if matrix.size else matrix
        rows.append(
            {
                "axis": axis,
                "alpha": ordinal_alpha(pairable) if pairable.size else float("nan"),
                "items": int(pairable.shape[1]) if pairable.size else 0,
                "ratings": int((~np.isnan(pairable)).sum()) if pairable.size else 0,
                "annotators": int(((~np.isnan(pairable)).sum(axis=1) > 0).sum()) if pairable.size else 0,
            }
        )
    return pd.DataFrame(rows, columns=["axis", "alpha", "items", "ratings", "annotators"])


def pairs_frame(ratings: pd.DataFrame, set_ratings: pd.DataFrame, names: dict[int, str]) -> pd.DataFrame:
    """One row per pair of annotators: how many requests both of them rated."""
    rated = pd.concat(
        [
            _annotators_only(ratings)[["request_id", "rater_id"]],
            _annotators_only(set_ratings)[["request_id", "rater_id"]],
        ]
    ).drop_duplicates()
    counts: dict[tuple[int, int], int] = {}
    for raters in rated.groupby("request_id")["rater_id"]:
        for pair in combinations(sorted(raters[1]), 2):
            counts[pair] = counts.get(pair, 0) + 1
    rows = [
        {
            "annotator_a": names.get(a, str(a)),
            "annotator_b": names.get(b, str(b)),
            "annotator_a_id": a,
            "annotator_b_id": b,
            "co_rated_items": count,
        }
        for (a, b), count in sorted(counts.items())
    ]
    columns = ["annotator_a", "annotator_b", "annotator_a_id", "annotator_b_id", "co_rated_items"]
    return pd.DataFrame(rows, columns=columns)


def agreement_frames(session: Session, *, modality: str | None = None) -> dict[str, pd.DataFrame]:
    """`agreement` (alpha per axis) and `agreement_pairs` (co-rated items per annotator pair)."""
    ratings = ratings_frame(session, modality=modality)
    set_ratings = set_ratings_frame(session, modality=modality)
    names = dict(session.execute(select(User.id, User.name).where(User.role != "end_user")).all())
    return {
        "agreement": alpha_frame(ratings, set_ratings),
        "agreement_pairs": pairs_frame(ratings, set_ratings, names),
    }


def _annotators_only(frame: pd.DataFrame) -> pd.DataFrame:
    return frame[frame["source"] == SOURCE]
