"""Style features of a text answer and the covariates that style control fits (docs/ARENA.md).

Pure functions, no database. The features follow LMArena's style control: the answer's length
and its counts of Markdown list items, headers and bold spans. Length is counted in words
(whitespace-separated), not tokens, so it does not depend on which tokenizer a version uses.

A battle's covariate for one feature is the relative difference between the two answers,
(a - b) / (a + b) (0 when both are 0), standardised over the battles being fitted (mean 0,
standard deviation 1; a feature that never varies stays 0). A positive coefficient then says
"voters prefer the answer with more of this, whatever the version".
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

STYLE_FEATURES = ("length", "lists", "headers", "bold")
# The frame columns that carry a battle's features: length_a, length_b, lists_a, ...
STYLE_COLUMNS = tuple(f"{feature}_{side}" for feature in STYLE_FEATURES for side in ("a", "b"))

# Markdown as RE2 patterns (pyarrow counts them over all answers at once, in C++).
_LIST_ITEM = r"(?m)^[ \t]*(?:[-*+]|\d+[.)])[ \t]+\S"
_HEADER = r"(?m)^[ \t]{0,3}#{1,6}[ \t]+\S"
_BOLD = r"\*\*[^*\n]+?\*\*|__[^_\n]+?__"


def style_features(text: str | None) -> tuple[int, int, int, int]:
    """(words, list items, headers, bold spans) of one answer; zeros for no text (an image)."""
    words, lists, headers, bold = _features([text])[0]
    return (int(words), int(lists), int(headers), int(bold))


def _features(texts: Iterable[str | None]) -> np.ndarray:
    """Answers x STYLE_FEATURES counts."""
    answers = text_array(texts)
    values = answers.to_pylist()
    counts = [np.array([len(text.split()) if text else 0 for text in values], dtype=float)]
    for pattern in (_LIST_ITEM, _HEADER, _BOLD):
        counts.append(pc.count_substring_regex(answers, pattern).fill_null(0).to_numpy(zero_copy_only=False).astype(float))
    return np.column_stack(counts) if values else np.zeros((0, len(STYLE_FEATURES)))


def text_array(texts: Iterable[str | None]) -> pa.Array:
    """Answers as an Arrow string array; None or NaN (no text) become null."""
    values = texts if isinstance(texts, pd.Series) else pd.Series(list(texts), dtype=object)
    return pa.array(values, type=pa.large_string(), from_pandas=True)


def feature_columns(texts_a: Iterable[str | None], texts_b: Iterable[str | None]) -> pd.DataFrame:
    """The STYLE_COLUMNS of a battles frame from the two answers' texts, one row per battle."""
    side_a, side_b = _features(texts_a), _features(texts_b)
    columns = {}
    for k, feature in enumerate(STYLE_FEATURES):
        columns[f"{feature}_a"], columns[f"{feature}_b"] = side_a[:, k], side_b[:, k]
    return pd.DataFrame(columns, columns=list(STYLE_COLUMNS))


def has_style(battles: pd.DataFrame) -> bool:
    """Whether `battles` carries style features for every battle (text battles; images do not)."""
    return all(column in battles.columns for column in STYLE_COLUMNS) and not battles[list(STYLE_COLUMNS)].isna().to_numpy().any()


def relative_difference(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """(a - b) / (a + b) elementwise, 0 where both are 0."""
    total = a + b
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(total != 0, (a - b) / np.where(total != 0, total, 1.0), 0.0)


def style_covariates(battles: pd.DataFrame) -> np.ndarray:
    """One row per battle, one column per STYLE_FEATURES: standardised relative differences."""
    raw = np.column_stack(
        [relative_difference(battles[f"{f}_a"].to_numpy(dtype=float), battles[f"{f}_b"].to_numpy(dtype=float)) for f in STYLE_FEATURES]
    )
    return standardise(raw)


def standardise(raw: np.ndarray) -> np.ndarray:
    """Columns to mean 0 and standard deviation 1 (a constant column becomes 0)."""
    if len(raw) == 0:
        return raw
    centred = raw - raw.mean(axis=0)
    spread = raw.std(axis=0)
    return np.asarray(np.where(spread > 0, centred / np.where(spread > 0, spread, 1.0), 0.0))
