"""The `playground` command: serve the app, manage the database, users and exports.

Each command group is a module of this package (serve, db, data, users, retrain, arena) with
its `add_commands`; each sub-command is a small function; errors from the packages below are turned into one-line
messages and a non-zero exit here, at the edge, never a traceback.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from playground.cli import arena, data, db, retrain, serve, users
from playground.cli.common import EXIT_ERROR, EXIT_USAGE, Handler
from playground.cli.errors import CLIError
from playground.core.settings import Settings


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not hasattr(args, "handler"):
        parser.print_help()
        return EXIT_USAGE
    os.umask(0o077)  # everything this process writes (database, exports, images) is ours alone
    try:
        settings = settings_from_args(args)
        handler: Handler = args.handler  # set by `command` on every sub-command's parser
        return handler(settings, args)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except Exception as error:  # noqa: BLE001 - the edge: known errors become messages
        message = _user_message(error)
        if message is None:
            raise
        print(f"error: {message}", file=sys.stderr)
        return EXIT_ERROR


def _user_message(error: Exception) -> str | None:
    """One line for errors the user can act on; None for real faults (shown with a traceback).
    Database errors never print their SQL parameters: they can hold password hashes."""
    from sqlalchemy.exc import SQLAlchemyError

    from playground.core.storage import database_error_line, storage_problem

    if isinstance(error, SQLAlchemyError):
        return database_error_line(error)
    if _is_user_error(error):
        return storage_problem(error) or str(error)
    return None


def _is_user_error(error: Exception) -> bool:
    from pydantic import ValidationError

    from feedback_db.errors import FeedbackDBError
    from models.base import ModelError
    from playground.core.errors import PlaygroundError

    return isinstance(error, (CLIError, FeedbackDBError, ModelError, OSError, PlaygroundError, ValidationError))


def settings_from_args(args: argparse.Namespace) -> Settings:
    """Environment variables first, then any flag given on the command line."""
    overrides = {
        name: getattr(args, name)
        for name in (
            "data_dir",
            "database_url",
            "text_model",
            "text_train_model",
            "image_model",
            "device",
            "host",
            "port",
        )
        if getattr(args, name, None) is not None
    }
    return Settings(**overrides)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="playground",
        description="Self-hosted feedback loop for generative AI: prompt, rate, retrain.",
    )
    parser.add_argument("--data-dir", type=Path, help="data folder (env PLAYGROUND_DATA_DIR)")
    parser.add_argument("--database-url", help="SQLAlchemy URL (env PLAYGROUND_DATABASE_URL)")
    commands = parser.add_subparsers(title="commands", metavar="COMMAND")
    for group in (serve, db, data, users, retrain, arena):
        group.add_commands(commands)
    return parser


if __name__ == "__main__":
    sys.exit(main())
