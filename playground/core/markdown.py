"""Markdown tables from pandas frames, for the reports people read in a mail or a wiki page."""

from __future__ import annotations

import pandas as pd


def markdown_table(frame: pd.DataFrame, empty: str) -> str:
    """`frame` as a Markdown table (its index left out), or `empty` in italics when it has no rows."""
    if frame.empty:
        return f"_{empty}_"
    header = "| " + " | ".join(map(str, frame.columns)) + " |"
    rule = "|" + "---|" * len(frame.columns)
    rows = ["| " + " | ".join(_cell(v) for v in row) + " |" for row in frame.itertuples(index=False)]
    return "\n".join([header, rule, *rows])


def _cell(value: object) -> str:
    text = "" if value is None or (isinstance(value, float) and pd.isna(value)) else str(value)
    return text.replace("|", "\\|").replace("\n", " ")
