"""Writing feedback frames to CSV, Parquet or JSONL, and reading them back unchanged."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from feedback_db.errors import InvalidInputError
from feedback_db.frames import DATETIME_COLUMNS

FORMATS = {"csv": ".csv", "parquet": ".parquet", "jsonl": ".jsonl"}


def check_format(fmt: str) -> str:
    if fmt not in FORMATS:
        raise InvalidInputError(f"unknown format {fmt!r}; choose one of {', '.join(FORMATS)}")
    return fmt


def write_frame(frame: pd.DataFrame, path: Path, fmt: str) -> Path:
    """Write `frame` to `path` in `fmt` (pandas' own writers; pyarrow for Parquet)."""
    check_format(fmt)
    if fmt == "csv":
        frame.to_csv(path, index=False)
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
    out_dir.mkdir(parents=True, exist_ok=True)
    return [write_frame(frame, out_dir / f"{name}{FORMATS[fmt]}", fmt) for name, frame in frames.items()]
