"""`playground versions list|promote|retire|gate` and `playground report`: the arena from a shell."""

from __future__ import annotations

import argparse
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from playground.cli.common import EXIT_OK, command
from playground.core.settings import Settings

if TYPE_CHECKING:
    from playground.services.version_chain import VersionChain

DEFAULT_MIN_BATTLES = 96  # about +/- 0.10 on a win rate near one half (docs/ARENA.md, "Which pair")
PERSONAL_WORDS = {
    "retire": "retired (clearly worse)",
    "keep": "kept (clearly better)",
    "wait": "waiting (too few votes or no clear winner)",
}


def add_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    versions = commands.add_parser("versions", help="list, promote and retire model versions").add_subparsers(
        title="versions commands", metavar="VERSIONS_COMMAND"
    )
    listing = command(versions, "list", "list model versions with their parent and arena standing", cmd_versions_list)
    listing.add_argument("--modality", choices=("text", "image"))
    listing.add_argument(
        "--chain",
        action="store_true",
        help="show the chain instead: per version its held-out wins and losses and its capability figures against the base model",
    )
    promote = command(versions, "promote", "serve this version from now on (retires the active one)", cmd_versions_promote)
    promote.add_argument("name")
    retire = command(versions, "retire", "stop offering this version (an active one falls back to base)", cmd_versions_retire)
    retire.add_argument("name")
    gate = command(
        versions,
        "gate",
        "promote or retire candidates (and retire clearly worse personal versions) on their arena record",
        cmd_versions_gate,
    )
    gate.add_argument("--modality", choices=("text", "image", "all"), default="all")
    gate.add_argument(
        "--min-battles",
        type=int,
        default=DEFAULT_MIN_BATTLES,
        metavar="N",
        help=f"battles against the active version needed before deciding (default {DEFAULT_MIN_BATTLES})",
    )

    report = command(commands, "report", "print the leaderboard and per-version figures; write Markdown + PNG", cmd_report)
    report.add_argument("--since", type=_date, help="only feedback from this date on (YYYY-MM-DD)")
    report.add_argument("--out", type=Path, help="folder for report.md and the plots")
    report.add_argument("--modality", choices=("text", "image", "all"), default="all")
    report.add_argument("--rounds", type=int, default=200, help="bootstrap rounds for the CIs (default 200)")


def _date(value: str) -> datetime:
    try:
        return datetime.strptime(value, "%Y-%m-%d").replace(tzinfo=UTC)
    except ValueError as error:
        raise argparse.ArgumentTypeError(f"expected a date as YYYY-MM-DD, got {value!r}") from error


def _modalities(value: str) -> tuple[str, ...]:
    return ("text", "image") if value == "all" else (value,)


def cmd_versions_list(settings: Settings, args: argparse.Namespace) -> int:
    from feedback_db.standings import leaderboard
    from playground.core.database import open_database
    from playground.services.version_chain import read_version_chain
    from playground.services.vote_hygiene import vote_hygiene

    database = open_database(settings)
    for modality in _modalities(args.modality or "all"):
        chain = read_version_chain(database, modality)
        print(f"{modality}:")
        if args.chain:
            _print_chain(chain)
            continue
        with database.read_sessions() as session:
            board = leaderboard(session, "versions", modality=modality, rounds=0, hygiene=vote_hygiene(settings)).table.set_index(
                "contestant"
            )
        rows = [("base", "base", None, "")] + [(v.name, v.status, v.created_at, f"from {v.parent or 'base'}") for v in chain.links]
        for name, status, created, parent in rows:
            standing = "no arena votes"
            if name in board.index:
                row = board.loc[name]
                standing = f"arena #{row['rank']} score {row['score']:.0f}, {row['battles']} battles, win rate {row['win_rate']:.0%}"
            since = f"{created:%Y-%m-%d}" if created else "-"
            print(f"  {name:<32} {status:<10} {since:<11} {parent:<20} {standing}")
    return EXIT_OK


def _print_chain(chain: VersionChain) -> None:
    """The chain table, one line per version, then what drifted in words."""
    from playground.services.version_chain import drift_words

    # Left-aligned like the plain list, two spaces apart (pandas aligns text to the right, one space apart).
    cells = [list(chain.table.columns), *chain.table.astype(str).to_numpy().tolist()] if chain.links else []
    widths = [max(len(row[i]) for row in cells) for i in range(len(cells[0]))] if cells else []
    for row in cells:
        print("  " + "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip())
    for line in drift_words(chain.links):
        print(f"  {line}")


def _set_status(settings: Settings, name: str, action: str) -> int:
    from feedback_db.versions import promote_version, retire_version, version_by_name
    from playground.core.database import open_database

    database = open_database(settings)
    with database.sessions.begin() as session:
        version = version_by_name(session, name=name)
        if action == "promote":
            promote_version(session, version_id=version.id)
            print(f"{name} is now the active {version.modality} version")
        else:
            was_active = version.status == "active"
            retire_version(session, version_id=version.id)
            fallback = f"; {version.modality} now serves the base model" if was_active else ""
            print(f"{name} retired{fallback}")
    return EXIT_OK


def cmd_versions_promote(settings: Settings, args: argparse.Namespace) -> int:
    return _set_status(settings, args.name, "promote")


def cmd_versions_retire(settings: Settings, args: argparse.Namespace) -> int:
    return _set_status(settings, args.name, "retire")


def run_arena_gate(settings: Settings, modality: str, min_battles: int, *, personal: bool = True) -> None:
    """The arena gate for `modality` ("all" for both), printed one line per candidate; then,
    with `personal` (and personal versions on), the personal gate (`run_personal_arena_gate`)."""
    from playground.cli.errors import CLIError
    from playground.core.database import open_database
    from playground.retrain.arena_gate import apply_arena_gate

    if min_battles < 1:
        raise CLIError("--arena-min-battles / --min-battles must be at least 1")
    database = open_database(settings)
    for one in _modalities(modality):
        actions = apply_arena_gate(database, modality=one, min_battles=min_battles)
        if not actions:
            print(f"[{one}] arena gate: no candidates")
        for action in actions:
            print(f"[{one}] arena gate: {action.version}: {action.decision} ({action.reason})")
    if personal and settings.personal_versions:
        run_personal_arena_gate(settings, modality, min_battles)


def run_personal_arena_gate(settings: Settings, modality: str, min_battles: int = DEFAULT_MIN_BATTLES) -> None:
    """The personal arena gate for `modality` ("all" for both): counts only, never a name or an
    identity, and what the owners' votes say about the global version."""
    from playground.core.database import open_database
    from playground.retrain.arena_gate import apply_personal_arena_gate

    database = open_database(settings)
    for one in _modalities(modality):
        tally = apply_personal_arena_gate(database, modality=one, min_battles=min_battles)
        judged = sum(tally.decisions.values())
        if not judged:
            print(f"[{one}] personal arena gate: no active personal versions")
            continue
        counts = ", ".join(f"{tally.decisions[d]} {words}" for d, words in PERSONAL_WORDS.items())
        print(f"[{one}] personal arena gate: {judged} active personal versions: {counts}")
        pooled = tally.against_personal.result
        if pooled.battles:
            print(
                f"[{one}] {tally.global_version} against its owners' personal versions: theirs won {pooled.win_rate:.0%} "
                f"(95% CI {pooled.ci_low:.0%} - {pooled.ci_high:.0%}) of {pooled.battles} votes by "
                f"{tally.against_personal.voters} identities (evidence about {tally.global_version}; it decides nothing)"
            )


def cmd_versions_gate(settings: Settings, args: argparse.Namespace) -> int:
    run_arena_gate(settings, args.modality, args.min_battles)
    return EXIT_OK


def cmd_report(settings: Settings, args: argparse.Namespace) -> int:
    from playground.cli.errors import CLIError
    from playground.core.database import open_database
    from playground.services.report import build_report, write_report

    if args.rounds < 0:
        raise CLIError("--rounds must be 0 or more")
    database = open_database(settings)
    report = build_report(database, settings, modalities=_modalities(args.modality), since=args.since, rounds=args.rounds)
    print(report.markdown)
    if args.out is not None:
        if args.out.exists() and not args.out.is_dir():
            raise CLIError(f"{args.out} exists and is not a folder")
        path = write_report(report, args.out)
        print(f"\nwrote {path} and {len(report.figures)} plots")
    return EXIT_OK
