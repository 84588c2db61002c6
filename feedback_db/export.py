"""Writing feedback frames to CSV, Parquet or JSONL, and reading them back unchanged.

CSV cells are guarded against spreadsheet formula injection: a text cell that starts with
= + - @ (or tab, carriage return, or a quote) gets a leading apostrophe, the OWASP-recommended
escape, which spreadsheets show as text; `read_frame` removes it again, so round trips are exact.
Files are written for this account only (mode 600): they hold prompts and comments.
"""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd

from feedback_db.errors import InvalidInputError
from feedback_db.frames import DATETIME_COLUMNS

FORMATS = {"csv": ".csv", "parquet": ".parquet", "jsonl": ".jsonl"}
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "'")
FILE_MODE = 0o600


def escape_formula(value: object) -> object:
    return "'" + value if isinstance(value, str) and value.startswith(FORMULA_STARTS) else value


def unescape_formula(value: object) -> object:
    return value[1:] if isinstance(value, str) and value.startswith("'") else value


def _text_columns(frame: pd.DataFrame) -> list[str]:
    return [c for c in frame.columns
            if pd.api.types.is_object_dtype(frame[c]) or pd.api.types.is_string_dtype(frame[c])]


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
        escaped.to_csv(path, index=False)
    elif fmt == "parquet":
        frame.to_parquet(path, index=False)
    else:
        frame.to_json(path, orient="records", lines=True, date_format="iso", date_unit="us")
    return path


def read_frame(path: Path, fmt: str) -> pd.DataFrame:
    """Read a frame written by `write_frame`, restoring its timestamp columns."""
    check_format(fmt)
    if fmt == "csv":
        frame = pd.read_csv(path)
        for column in _text_columns(frame):
            frame[column] = frame[column].map(unescape_formula)
    elif fmt == "parquet":
        frame = pd.read_parquet(path)
    else:
        frame = pd.read_json(path, orient="records", lines=True, convert_dates=False)
    for column in DATETIME_COLUMNS:
        if column in frame:
            frame[column] = pd.to_datetime(frame[column], utc=True)
    return frame


def export_frames(frames: dict[str, pd.DataFrame], out_dir: Path, fmt: str) -> list[Path]:
    """Write each frame as `<out_dir>/<name>.<ext>`; return the paths written."""
    check_format(fmt)
    out_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    return [write_frame(frame, out_dir / f"{name}{FORMATS[fmt]}", fmt) for name, frame in frames.items()]
