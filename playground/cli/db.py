"""`playground db upgrade|current|backup|restore`: database maintenance."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from playground.cli.common import EXIT_OK, command
from playground.core.settings import Settings

if TYPE_CHECKING:  # imported for its type only: the commands import feedback_db lazily
    from feedback_db.backup import CheckedCopy


def add_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    db = commands.add_parser("db", help="database maintenance").add_subparsers(title="db commands", metavar="DB_COMMAND")
    command(db, "upgrade", "create or migrate the database to the latest schema", cmd_db_upgrade)
    command(db, "current", "print the database's schema revision", cmd_db_current)
    backup = command(db, "backup", "copy the SQLite database consistently while the app runs", cmd_db_backup)
    backup.add_argument("path", type=Path, help="file to write (must not exist)")
    restore = command(db, "restore", "replace the SQLite database with a checked backup (app stopped)", cmd_db_restore)
    restore.add_argument("path", type=Path, help="a file written by `playground db backup`")


def cmd_db_upgrade(settings: Settings, args: argparse.Namespace) -> int:
    from playground.core.database import open_database

    database = open_database(settings)
    print(f"database at revision {database.revision}: {_safe_url(settings)}")
    return EXIT_OK


def cmd_db_current(settings: Settings, args: argparse.Namespace) -> int:
    from feedback_db.engine import make_engine
    from feedback_db.migrate import current_revision, head_revision

    engine = make_engine(settings.resolved_database_url)
    current, head = current_revision(engine), head_revision(engine)
    state = "up to date" if current == head else f"behind head {head}: run `playground db upgrade`"
    print(f"{current or 'blank'} ({state})")
    return EXIT_OK


def cmd_db_backup(settings: Settings, args: argparse.Namespace) -> int:
    from feedback_db.backup import backup_database

    report = backup_database(settings.resolved_database_url, args.path)
    print(f"backed up {_checked_copy_text(report)} to {args.path}")
    return EXIT_OK


def cmd_db_restore(settings: Settings, args: argparse.Namespace) -> int:
    from feedback_db.backup import restore_database

    report = restore_database(settings.resolved_database_url, args.path)
    print(f"restored {_checked_copy_text(report)}; the previous database is at {report.previous}")
    return EXIT_OK


def _checked_copy_text(report: CheckedCopy) -> str:
    """What a backup and a restore both say about the copy they checked."""
    return f"{report.tables['requests']} requests, {report.tables['ratings']} ratings (revision {report.revision}, integrity ok)"


def _safe_url(settings: Settings) -> str:
    from sqlalchemy.engine import make_url

    return make_url(settings.resolved_database_url).render_as_string(hide_password=True)
