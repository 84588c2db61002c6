"""`playground export` and `playground generate`: feedback out as files, bulk candidates in for annotation."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from playground.cli.common import DEVICE_HELP, EXIT_OK, IMAGE_MODEL_HELP, TEXT_MODEL_HELP, command
from playground.cli.errors import CLIError
from playground.core.settings import Settings

if TYPE_CHECKING:
    from playground.core.database import Database


def add_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    export = command(commands, "export", "export feedback as CSV, Parquet or JSONL, or as TRL datasets", cmd_export)
    export.add_argument("--out", type=Path, required=True, help="folder to write the files into")
    export.add_argument(
        "--format",
        choices=("csv", "parquet", "jsonl", "trl"),
        default="csv",
        help="csv/parquet/jsonl: the feedback tables; trl: the DPO/KTO/SFT datasets retrain trains on",
    )
    export.add_argument("--trl-files", choices=("parquet", "jsonl"), default="parquet", help="file type for --format trl")
    export.add_argument("--modality", choices=("text", "image"), help="only this modality")

    generate = command(commands, "generate", "generate candidates in bulk for the annotation queue", cmd_generate)
    generate.add_argument(
        "--prompts",
        type=Path,
        required=True,
        help='JSONL file, one {"prompt": "...", "params": {...}} per line (see docs/ANNOTATION.md)',
    )
    generate.add_argument("--n", type=int, default=4, help="candidates per prompt (default 4)")
    generate.add_argument("--modality", choices=("text", "image"), default="text")
    generate.add_argument("--text-model", help=TEXT_MODEL_HELP)
    generate.add_argument("--image-model", help=IMAGE_MODEL_HELP)
    generate.add_argument("--device", help=DEVICE_HELP)


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


def _export_trl(database: Database, out_dir: Path, args: argparse.Namespace) -> int:
    from models.base import MODALITIES
    from playground.services.export import export_trl

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
