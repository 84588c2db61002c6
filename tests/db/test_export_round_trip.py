"""Exports survive a round trip exactly, and no CSV reader ever sees an unescaped formula.

A lone carriage return used to be written unquoted (pandas' line terminator is "\\n", and the
csv module quotes only the terminator's characters), so every reader split the row at the CR
and the new row started with whatever the comment said there: `=cmd|' /C calc'!A0`.
"""

from __future__ import annotations

import csv
import re
import tempfile
from pathlib import Path

import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from feedback_db.export import read_frame, write_frame

ATTACK = "ok\r=cmd|' /C calc'!A0"
FORMULA_STARTS = ("=", "+", "-", "@", "\t")
LINE_BREAK = re.compile(r"\r\n|\r|\n")


def _lines(cell: str) -> list[str]:
    """The physical lines of a cell, as a spreadsheet that breaks at CR, LF or CRLF shows them."""
    return LINE_BREAK.split(cell)


def _unescaped_formulas(cells: list[object]) -> list[str]:
    return [c for c in cells if isinstance(c, str) and any(line.startswith(FORMULA_STARTS) for line in _lines(c))]


def _values(frame: pd.DataFrame) -> dict[str, list[object]]:
    """Column values with every kind of missing as None (CSV cannot tell None from NaN)."""
    return {c: [None if pd.isna(v) else v for v in frame[c].astype(object)] for c in frame.columns}


def _attack_frame() -> pd.DataFrame:
    comments: list[str | None] = [f"comment {k}, fine" for k in range(18)]
    comments[7] = ATTACK
    comments[11] = None
    return pd.DataFrame(
        {
            "id": range(1, 19),
            "comment": comments,
            "naturalness": [float(1 + k % 5) if k % 4 else None for k in range(18)],
        }
    )


def test_a_lone_carriage_return_cannot_start_a_new_row_with_a_formula(tmp_path):
    frame = _attack_frame()
    path = write_frame(frame, tmp_path / "ratings.csv", "csv")

    with path.open(newline="") as handle:
        rows = list(csv.reader(handle))
    assert len(rows) == 1 + 18 and all(len(row) == 3 for row in rows)
    assert _unescaped_formulas([cell for row in rows for cell in row]) == []
    assert rows[8][1] == "ok\r'=cmd|' /C calc'!A0"

    read_by_pandas = pd.read_csv(path)
    assert len(read_by_pandas) == 18
    assert _unescaped_formulas(read_by_pandas.to_numpy().ravel().tolist()) == []

    back = read_frame(path, "csv")
    assert len(back) == 18
    assert _values(back) == _values(frame)


# Text cells as a comment box can hold them (control characters other than tab, LF and CR are
# stripped before they are stored): line breaks of every kind, quotes, commas, formula starts at
# line starts, values pandas would take for missing, numbers or booleans, unicode, empty.
_PIECES = st.sampled_from(
    [
        "\r",
        "\n",
        "\r\n",
        "\t",
        '"',
        "'",
        ",",
        "=",
        "+",
        "-",
        "@",
        "=1+2",
        "@SUM(A1)",
        "'x",
        "NA",
        "nan",
        "null",
        "None",
        "0",
        "-1.5",
        "1e5",
        "True",
        "false",
        " ",
        "é",
        "日本",
        "🙂",
    ]
)
_CHARS = st.characters(blacklist_categories=("Cc", "Cs"))
TEXT = st.lists(st.one_of(_PIECES, st.text(_CHARS, max_size=4)), max_size=6).map("".join)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    texts=st.lists(TEXT, min_size=1, max_size=5),
    reasons=st.lists(st.one_of(st.none(), TEXT), min_size=5, max_size=5),
    fmt=st.sampled_from(["csv", "jsonl", "parquet"]),
)
def test_any_text_cell_round_trips_and_csv_readers_see_no_formula(texts, reasons, fmt):
    frame = pd.DataFrame(
        {
            "id": range(len(texts)),
            "comment": texts,
            "reason": reasons[: len(texts)],
            "score": [0.5 * k if k % 2 else None for k in range(len(texts))],
        }
    )
    with tempfile.TemporaryDirectory() as folder:
        path = write_frame(frame, Path(folder) / f"frame.{fmt}", fmt)
        back = read_frame(path, fmt)
        if fmt == "csv":
            with path.open(newline="") as handle:
                rows = list(csv.reader(handle))
            assert len(rows) == 1 + len(texts)
            text_cells = [cell for row in rows[1:] for cell in row[1:3]]
            assert _unescaped_formulas(text_cells) == []
    assert _values(back) == _values(frame)
