"""`playground users add|list`: annotator and admin accounts."""

from __future__ import annotations

import argparse
import getpass
import sys

from playground.cli.common import EXIT_OK, command
from playground.cli.errors import CLIError
from playground.core.settings import Settings


def add_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    users = commands.add_parser("users", help="annotator and admin accounts").add_subparsers(
        title="users commands", metavar="USERS_COMMAND"
    )
    add = command(users, "add", "add an annotator or admin", cmd_users_add)
    add.add_argument("name")
    add.add_argument("--role", choices=("annotator", "admin"), default="annotator")
    add.add_argument("--password-stdin", action="store_true", help="read the password from standard input")
    command(users, "list", "list annotators and admins", cmd_users_list)


def cmd_users_add(settings: Settings, args: argparse.Namespace) -> int:
    from feedback_db.users import create_user
    from playground.core.database import open_database

    password = _read_password(from_stdin=args.password_stdin)
    database = open_database(settings)
    with database.sessions.begin() as session:
        user = create_user(session, name=args.name, role=args.role, password=password)
        print(f"added {user.role} {user.name!r} (id {user.id})")
    return EXIT_OK


def _read_password(*, from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    if not sys.stdin.isatty():
        raise CLIError("no terminal to ask for a password: pass --password-stdin")
    password = getpass.getpass("password: ")
    if password != getpass.getpass("repeat password: "):
        raise CLIError("the passwords differ")
    return password


def cmd_users_list(settings: Settings, args: argparse.Namespace) -> int:
    from feedback_db.users import list_users
    from playground.core.database import open_database

    database = open_database(settings)
    with database.read_sessions() as session:
        users = list_users(session)
    if not users:
        print("no annotators or admins yet: add one with `playground users add NAME`")
    for user in users:
        print(f"{user.id:>5}  {user.role:<10} {user.name}  (since {user.created_at:%Y-%m-%d})")
    return EXIT_OK
