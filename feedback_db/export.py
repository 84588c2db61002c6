"""Writing feedback frames to CSV, Parquet or JSONL, and reading them back unchanged.

CSV cells are guarded against spreadsheet formula injection. A spreadsheet starts a formula at
the start of any line it shows, and readers split a cell at CR, LF or CRLF, so every line start
inside a text cell counts: one that begins with = + - @ (or tab, CR, or an apostrophe) gets a
leading apostrophe, the OWASP-recommended escape, which spreadsheets show as text. Every text cell
is quoted (`QUOTE_NONNUMERIC`): pandas' line terminator is "\n", and the csv module quotes only
the terminator's characters, so a lone CR used to go out unquoted and split the row in every
reader, handing the rest of the comment a row and a first cell of its own.

A text cell that would not read back as that text also gets the apostrophe (a spreadsheet's own
"this is text" mark): the empty string (an empty field is a missing value) and text that reads
as a number or a boolean. `read_frame` removes exactly the apostrophes that were added - one at
each line start - so a cell that really has an apostrophe at a line start round-trips too.
JSONL is read without type guessing, so text such as "1" stays text; Parquet is typed already.
Files are written for this account only (mode 600): they hold prompts and comments.
"""

from __future__ import annotations

import csv
import os
import re
from pathlib import Path

import pandas as pd

from feedback_db.errors import InvalidInputError
from feedback_db.frames import DATETIME_COLUMNS

FORMATS = {"csv": ".csv", "parquet": ".parquet", "jsonl": ".jsonl"}
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "'")
FILE_MODE = 0o600
TEXT_MARK = "'"
# A line start: the cell's start, after LF, or after a CR that is not the first half of CRLF.
# The escape inserts only apostrophes (never a line break), so the escaped cell has the same
# line starts as the original and the unescape finds exactly the apostrophes that were added.
_LINE_START = r"(?:\A|(?<=\n)|(?<=\r)(?!\n))"
_FORMULA_AT_LINE_START = re.compile(_LINE_START + "(?=[" + re.escape("".join(FORMULA_STARTS)) + "])")
_MARK_AT_LINE_START = re.compile(_LINE_START + TEXT_MARK)
_BOOLEAN_WORDS = frozenset({"true", "false"})
# Only "" means missing when reading; "NA", "null", "nan" and the like are text.
_READ_CSV_NA = {"keep_default_na": False, "na_values": [""]}


def escape_formula(value: object) -> object:
    """The CSV form of a text cell: apostrophes where it could be a formula or misread."""
    if not isinstance(value, str):
        return value
    escaped = _FORMULA_AT_LINE_START.sub(TEXT_MARK, value)
    if escaped == value and _reads_as_other_than_text(value):
        return TEXT_MARK + value
    return escaped


def unescape_formula(value: object) -> object:
    """Inverse of `escape_formula`: drop one apostrophe at each line start."""
    return _MARK_AT_LINE_START.sub("", value) if isinstance(value, str) else value


def _reads_as_other_than_text(value: str) -> bool:
    """Whether pandas could read the cell back as missing, a number or a boolean.

    Erring towards True costs only an apostrophe (removed again on reading); float() accepts a
    superset of what pandas parses as a number ("inf", "1_0", surrounding whitespace, ...).
    """
    if value == "" or value.strip().lower() in _BOOLEAN_WORDS:
        return True
    try:
        float(value)
    except ValueError:
        return False
    return True


def _text_columns(frame: pd.DataFrame) -> list[str]:
    return [c for c in frame.columns if pd.api.types.is_object_dtype(frame[c]) or pd.api.types.is_string_dtype(frame[c])]


def check_format(fmt: str) -> str:
    if fmt not in FORMATS:
        raise InvalidInputError(f"unknown format {fmt!r}; choose one of {', '.join(FORMATS)}")
    return fmt


def write_frame(frame: pd.DataFrame, path: Path, fmt: str) -> Path:
    """Write `frame` to `path` in `fmt` (pandas' own writers; pyarrow for Parquet)."""
    check_format(fmt)
    # Created (or truncated) with mode 600 before any data is written to it.
    os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, FILE_MODE))
    os.chmod(path, FILE_MODE)
    if fmt == "csv":
        escaped = frame.copy()
        for column in _text_columns(escaped):
            escaped[column] = escaped[column].map(escape_formula)
        # Every text cell quoted, so CR, LF and commas inside it never end the row or the cell.
        escaped.to_csv(path, index=False, quoting=csv.QUOTE_NONNUMERIC)
    elif fmt == "parquet":
        frame.to_parquet(path, index=False)
    else:
        frame.to_json(path, orient="records", lines=True, date_format="iso", date_unit="us")
    return path


def read_frame(path: Path, fmt: str) -> pd.DataFrame:
    """Read a frame written by `write_frame`, restoring its timestamp columns."""
    check_format(fmt)
    if fmt == "csv":
        frame = pd.read_csv(path, **_READ_CSV_NA)
        for column in _text_columns(frame):
            frame[column] = frame[column].map(unescape_formula)
    elif fmt == "parquet":
        frame = pd.read_parquet(path)
    else:
        # dtype=False: no guessing, so a text column of "1", "2" stays text (numbers stay numbers).
        frame = pd.read_json(path, orient="records", lines=True, dtype=False)
    for column in DATETIME_COLUMNS:
        if column in frame:
            frame[column] = pd.to_datetime(frame[column], utc=True)
    return frame


def export_frames(frames: dict[str, pd.DataFrame], out_dir: Path, fmt: str) -> list[Path]:
    """Write each frame as `<out_dir>/<name>.<ext>`; return the paths written."""
    check_format(fmt)
    out_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    return [write_frame(frame, out_dir / f"{name}{FORMATS[fmt]}", fmt) for name, frame in frames.items()]
