"""The `playground` command: serve the app, manage the database, users and exports.

Each sub-command is a small function; errors from the packages below are turned into one-line
messages and a non-zero exit here, at the edge, never a traceback.
"""

from __future__ import annotations

import argparse
import getpass
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from playground.cli.errors import CLIError
from playground.core.settings import Settings

EXIT_OK, EXIT_ERROR, EXIT_USAGE = 0, 1, 2


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not hasattr(args, "handler"):
        parser.print_help()
        return EXIT_USAGE
    os.umask(0o077)  # everything this process writes (database, exports, images) is ours alone
    try:
        settings = settings_from_args(args)
        return args.handler(settings, args)
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

    serve = _command(commands, "serve", "run the web app", cmd_serve)
    serve.add_argument("--host", help="listen address (default 127.0.0.1)")
    serve.add_argument("--port", type=int, help="port (default 7860)")
    serve.add_argument("--text-model", help="'embedded', a Hugging Face id / local path, or openai:URL[#MODEL] (an engine: docs/ENGINE.md)")
    serve.add_argument("--image-model", help="'embedded' or a diffusers id / local path")
    serve.add_argument("--device", help="auto, cpu, cuda or cuda:N")

    db = commands.add_parser("db", help="database maintenance").add_subparsers(title="db commands", metavar="DB_COMMAND")
    _command(db, "upgrade", "create or migrate the database to the latest schema", cmd_db_upgrade)
    _command(db, "current", "print the database's schema revision", cmd_db_current)
    backup = _command(db, "backup", "copy the SQLite database consistently while the app runs", cmd_db_backup)
    backup.add_argument("path", type=Path, help="file to write (must not exist)")
    restore = _command(db, "restore", "replace the SQLite database with a checked backup (app stopped)", cmd_db_restore)
    restore.add_argument("path", type=Path, help="a file written by `playground db backup`")

    export = _command(commands, "export", "export feedback as CSV, Parquet or JSONL, or as TRL datasets", cmd_export)
    export.add_argument("--out", type=Path, required=True, help="folder to write the files into")
    export.add_argument(
        "--format",
        choices=("csv", "parquet", "jsonl", "trl"),
        default="csv",
        help="csv/parquet/jsonl: the feedback tables; trl: the DPO/KTO/SFT datasets retrain trains on",
    )
    export.add_argument("--trl-files", choices=("parquet", "jsonl"), default="parquet", help="file type for --format trl")
    export.add_argument("--modality", choices=("text", "image"), help="only this modality")

    generate = _command(commands, "generate", "generate candidates in bulk for the annotation queue", cmd_generate)
    generate.add_argument(
        "--prompts",
        type=Path,
        required=True,
        help='JSONL file, one {"prompt": "...", "params": {...}} per line (see docs/ANNOTATION.md)',
    )
    generate.add_argument("--n", type=int, default=4, help="candidates per prompt (default 4)")
    generate.add_argument("--modality", choices=("text", "image"), default="text")
    generate.add_argument(
        "--text-model", help="'embedded', a Hugging Face id / local path, or openai:URL[#MODEL] (an engine: docs/ENGINE.md)"
    )
    generate.add_argument("--image-model", help="'embedded' or a diffusers id / local path")
    generate.add_argument("--device", help="auto, cpu, cuda or cuda:N")

    users = commands.add_parser("users", help="annotator and admin accounts").add_subparsers(
        title="users commands", metavar="USERS_COMMAND"
    )
    add = _command(users, "add", "add an annotator or admin", cmd_users_add)
    add.add_argument("name")
    add.add_argument("--role", choices=("annotator", "admin"), default="annotator")
    add.add_argument("--password-stdin", action="store_true", help="read the password from standard input")
    _command(users, "list", "list annotators and admins", cmd_users_list)

    retrain = _command(commands, "retrain", "turn feedback into a better model version", cmd_retrain)
    retrain.add_argument("--modality", choices=("text", "image", "all"), default="all")
    retrain.add_argument("--dry-run", action="store_true", help="print the data counts and samples; train nothing")
    retrain.add_argument("--min-examples", type=int, help="usable training rows needed to train (default 16)")
    retrain.add_argument("--max-steps", type=int, help="cap the training steps (quick runs)")
    retrain.add_argument(
        "--eval-prompts",
        type=int,
        metavar="N",
        help="at most this many held-out prompts both versions answer, judged for the gate "
        "(default 24; 0 skips it: the margin test alone decides)",
    )
    retrain.add_argument(
        "--sampling-budget",
        type=float,
        metavar="SECONDS",
        help="time for both versions to answer them (default 300 on a CPU, 120 on a GPU)",
    )
    retrain.add_argument(
        "--alpha", type=float, help="the gate's one-sided error rate: how often a version that is no better may be promoted (default 0.05)"
    )
    retrain.add_argument(
        "--text-model", help="'embedded', a Hugging Face id / local path, or openai:URL[#MODEL] (an engine: docs/ENGINE.md)"
    )
    retrain.add_argument(
        "--text-train-model", help="with an engine --text-model: its base model as a local copy ('embedded', an id or path) to train on"
    )
    retrain.add_argument("--image-model", help="'embedded' or a diffusers id / local path")
    retrain.add_argument("--device", help="auto, cpu, cuda or cuda:N")
    retrain.add_argument(
        "--arena-min-battles",
        type=int,
        metavar="N",
        help="first promote (or retire) candidates whose arena record against the active version "
        "is clear after at least N battles; a new version that passes the held-out gate then "
        "stays a candidate until the arena decides (docs/RETRAIN.md, 'Arena gate')",
    )
    _add_arena_commands(commands)
    return parser


def _add_arena_commands(commands: argparse._SubParsersAction) -> None:
    """`playground versions ...` and `playground report` (cli_arena.py)."""
    from playground.cli.arena import add_arena_commands

    add_arena_commands(commands, _command)


def _command(
    group: argparse._SubParsersAction,
    name: str,
    help_text: str,
    handler: Callable[[Settings, argparse.Namespace], int],
) -> argparse.ArgumentParser:
    command = group.add_parser(name, help=help_text, description=help_text)
    command.set_defaults(handler=handler)
    return command


def cmd_serve(settings: Settings, args: argparse.Namespace) -> int:
    from playground.web.app import launch

    launch(settings)
    return EXIT_OK


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
    print(
        f"backed up {report.tables['requests']} requests, {report.tables['ratings']} ratings "
        f"(revision {report.revision}, integrity ok) to {args.path}"
    )
    return EXIT_OK


def cmd_db_restore(settings: Settings, args: argparse.Namespace) -> int:
    from feedback_db.backup import restore_database

    report = restore_database(settings.resolved_database_url, args.path)
    print(
        f"restored {report.tables['requests']} requests, {report.tables['ratings']} ratings "
        f"(revision {report.revision}, integrity ok); the previous database is at {report.previous}"
    )
    return EXIT_OK


def cmd_export(settings: Settings, args: argparse.Namespace) -> int:
    from feedback_db.agreement import agreement_frames
    from feedback_db.export import export_frames
    from feedback_db.frames import read_frames
    from playground.core.database import open_database

    out_dir: Path = args.out
    if out_dir.exists() and not out_dir.is_dir():
        raise CLIError(f"{out_dir} exists and is not a folder")
    database = open_database(settings)
    if args.format == "trl":
        return _export_trl(database, out_dir, args)
    with database.read_sessions() as session:
        frames = read_frames(session, modality=args.modality, include_withheld=True)  # the full record
        frames.update(agreement_frames(session, modality=args.modality))  # alpha and annotator pairs
    try:
        paths = export_frames(frames, out_dir, args.format)
    except OSError as error:
        raise CLIError(f"cannot write to {out_dir}: {error.strerror or error}") from error
    for name, path in zip(frames, paths, strict=True):
        print(f"{len(frames[name]):>7} rows  {path}")
    return EXIT_OK


def _export_trl(database, out_dir: Path, args: argparse.Namespace) -> int:
    from playground.services.export import MODALITIES, export_trl

    modalities = (args.modality,) if args.modality else MODALITIES
    try:
        written = export_trl(database, out_dir, args.trl_files, modalities)
    except OSError as error:
        raise CLIError(f"cannot write to {out_dir}: {error.strerror or error}") from error
    for item in written:
        print(f"{item.rows:>7} rows  {item.path}")
    if not written:
        print(f"no training rows yet (see the manifest.json files under {out_dir})")
    return EXIT_OK


def cmd_generate(settings: Settings, args: argparse.Namespace) -> int:
    from playground.core.database import open_database
    from playground.services.bulk import generate_from_file
    from playground.serving.context import build_context

    database = open_database(settings)
    context = build_context(settings, database)
    report = generate_from_file(context, args.prompts, modality=args.modality, n=args.n)
    for problem in report.problems:
        print(f"{args.prompts}:{problem.line}: {problem.message}", file=sys.stderr)
    print(
        f"generated {len(report.request_ids)} requests with {args.n} candidates each "
        f"(source 'bulk', now in the annotation queue); {len(report.problems)} lines skipped"
    )
    if not report.request_ids:
        raise CLIError(f"nothing was generated from {args.prompts}")
    return EXIT_OK


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


def cmd_retrain(settings: Settings, args: argparse.Namespace) -> int:
    from models.finetune.evaluate import GateConfig
    from playground.cli.arena import run_arena_gate
    from playground.retrain import RetrainOptions, retrain
    from playground.retrain.text import local_text_model

    if args.modality in ("text", "all"):
        local_text_model(settings)  # with an engine: is a local copy named? (before reading any feedback)
    options = RetrainOptions(modality=args.modality, dry_run=args.dry_run)
    if args.arena_min_battles is not None:
        # 1. Candidates that have fought enough battles are promoted or retired first; 2. a new
        #    version that passes the held-out gate then waits for the arena as a candidate.
        run_arena_gate(settings, args.modality, args.arena_min_battles)
        options.arena_min_battles = args.arena_min_battles
    if args.min_examples is not None:
        if args.min_examples < 1:
            raise CLIError("--min-examples must be at least 1")
        options.min_examples = args.min_examples
    if args.max_steps is not None:
        if args.max_steps < 1:
            raise CLIError("--max-steps must be at least 1")
        options.max_steps = args.max_steps
    if args.eval_prompts is not None:
        if args.eval_prompts < 0:
            raise CLIError("--eval-prompts must be 0 or more")
        options.eval_generation_prompts = args.eval_prompts
    if args.sampling_budget is not None:
        if not args.sampling_budget > 0:
            raise CLIError("--sampling-budget must be more than 0 seconds")
        options.sampling_budget_s = args.sampling_budget
    if args.alpha is not None:
        if not 0 < args.alpha < 0.5:
            raise CLIError("--alpha must be between 0 and 0.5 (e.g. 0.05)")
        options.gate = GateConfig(alpha=args.alpha)
    for outcome in retrain(settings, options):
        print(f"[{outcome.modality}] {outcome.message}")
        if outcome.report_path:
            print(f"[{outcome.modality}] report: {outcome.report_path}")
    return EXIT_OK


def _safe_url(settings: Settings) -> str:
    from sqlalchemy.engine import make_url

    return make_url(settings.resolved_database_url).render_as_string(hide_password=True)


if __name__ == "__main__":
    sys.exit(main())
