"""`playground db backup` and `db restore`: consistent copies of a SQLite feedback database.

Backup uses SQLite's online backup API (`sqlite3.Connection.backup`), which copies a consistent
snapshot while the app keeps writing (WAL). The copy is checked (PRAGMA integrity_check, a known
schema revision) before it is reported done. Restore checks the file the same way, keeps the
current database beside it as `<name>.before-restore-<time>`, and swaps the files; stop the app
first. PostgreSQL has its own tools: `pg_dump` / `pg_restore` (docs/OPERATIONS.md).
"""

from __future__ import annotations

import os
import shutil
import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy.engine import make_url

from feedback_db.errors import FeedbackDBError

COUNTED_TABLES = ("requests", "outputs", "ratings", "set_ratings", "users")


class BackupError(FeedbackDBError):
    """A backup or restore was refused (not SQLite, target exists, damaged file...)."""


@dataclass
class CheckedCopy:
    revision: str
    tables: dict[str, int]
    previous: Path | None = None


def sqlite_path(database_url: str) -> Path:
    url = make_url(database_url)
    if url.get_backend_name() != "sqlite" or not url.database or url.database.startswith((":memory:", "file:")):
        raise BackupError("db backup/restore handle SQLite files; for PostgreSQL use pg_dump and pg_restore")
    return Path(url.database).expanduser()


def backup_database(database_url: str, target: Path) -> CheckedCopy:
    """Copy the live database to `target` (created with mode 600) and check the copy."""
    source = sqlite_path(database_url)
    if not source.exists():
        raise BackupError(f"there is no database at {source}")
    if target.exists():
        raise BackupError(f"{target} exists; choose a new file name")
    target.parent.mkdir(parents=True, exist_ok=True)
    os.close(os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    try:
        with sqlite3.connect(source) as live, sqlite3.connect(target) as copy:
            live.execute("PRAGMA busy_timeout=30000")
            live.backup(copy)
        copy_close = sqlite3.connect(target)
        copy_close.execute("PRAGMA journal_mode=DELETE")  # one self-contained file
        copy_close.close()
        return check_copy(target)
    except BaseException:
        target.unlink(missing_ok=True)
        raise


def check_copy(path: Path) -> CheckedCopy:
    """The copy's schema revision and row counts, or BackupError if it is damaged or foreign."""
    try:
        with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as db:
            verdict = db.execute("PRAGMA integrity_check").fetchone()[0]
            if verdict != "ok":
                raise BackupError(f"{path} is damaged: integrity_check says {verdict}")
            row = db.execute("SELECT version_num FROM alembic_version").fetchone()
            tables = {t: db.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in COUNTED_TABLES}  # noqa: S608
    except sqlite3.DatabaseError as error:
        raise BackupError(f"{path} is not a Playground database: {error}") from error
    if row is None:
        raise BackupError(f"{path} has no schema revision; it is not a Playground database")
    return CheckedCopy(revision=row[0], tables=tables)


def restore_database(database_url: str, backup: Path) -> CheckedCopy:
    """Check `backup`, keep the current database aside, and put the backup in its place."""
    if not backup.is_file():
        raise BackupError(f"there is no backup file at {backup}")
    checked = check_copy(backup)
    target = sqlite_path(database_url)
    target.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    staged = target.with_name(f"{target.name}.restoring")
    shutil.copyfile(backup, staged)
    os.chmod(staged, 0o600)
    previous = None
    if target.exists():
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
        previous = target.with_name(f"{target.name}.before-restore-{stamp}")
        with sqlite3.connect(target) as current:  # fold the WAL in, so the kept copy is whole
            current.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        os.replace(target, previous)
    for suffix in ("-wal", "-shm"):
        Path(f"{target}{suffix}").unlink(missing_ok=True)
    os.replace(staged, target)
    checked.previous = previous
    return checked
