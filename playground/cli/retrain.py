"""`playground retrain`: turn feedback into a better model version."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import TypeVar

from playground.cli.common import DEVICE_HELP, EXIT_OK, IMAGE_MODEL_HELP, TEXT_MODEL_HELP, command
from playground.cli.errors import CLIError
from playground.core.settings import Settings

T = TypeVar("T", int, float)  # an option's type
D = TypeVar("D")  # its default's type (None where RetrainOptions leaves it unset)
# models.finetune.image.TARGETS' names, spelled out so that `--help` does not import torch
# (tests/retrain/test_accelerate_launch.py checks the two agree).
IMAGE_TARGET_SETS = ("attention", "wide", "conv", "conv-all")


def add_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    retrain = command(commands, "retrain", "turn feedback into a better model version", cmd_retrain)
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
    retrain.add_argument("--text-model", help=TEXT_MODEL_HELP)
    retrain.add_argument(
        "--text-train-model", help="with an engine --text-model: its base model as a local copy ('embedded', an id or path) to train on"
    )
    retrain.add_argument("--image-model", help=IMAGE_MODEL_HELP)
    retrain.add_argument(
        "--image-targets",
        choices=IMAGE_TARGET_SETS,
        help="the image adapter's layers: attention (default), wide, conv (with the ResNet blocks' "
        "convolutions, which reach texture such as grain) or conv-all (docs/RETRAIN.md, 'Texture')",
    )
    retrain.add_argument("--device", help=DEVICE_HELP)
    retrain.add_argument(
        "--no-personal",
        action="store_true",
        help="train no personal versions and run no personal arena gate this run (by default each identity with "
        "enough ratings gets one; docs/RETRAIN.md, 'Personal versions')",
    )
    retrain.add_argument(
        "--arena-min-battles",
        type=int,
        metavar="N",
        help="first promote (or retire) candidates whose arena record against the active version "
        "is clear after at least N battles; a new version that passes the held-out gate then "
        "stays a candidate until the arena decides; the personal arena gate uses N too (default 96) "
        "(docs/RETRAIN.md, 'Arena gate')",
    )


def cmd_retrain(settings: Settings, args: argparse.Namespace) -> int:
    from models.finetune.evaluate import GateConfig
    from playground.cli.arena import DEFAULT_MIN_BATTLES, run_arena_gate, run_personal_arena_gate
    from playground.retrain import RetrainOptions, retrain
    from playground.retrain.capability import check_capability_sets
    from playground.retrain.text import local_text_model
    from playground.services.feedback_drift import retrain_drift

    if args.modality in ("text", "all"):
        local_text_model(settings)  # with an engine: is a local copy named? (before reading any feedback)
    # A missing or malformed capability set stops the command before any gate or training runs.
    check_capability_sets(settings, ["text", "image"] if args.modality == "all" else [args.modality])
    options = RetrainOptions(
        modality=args.modality, dry_run=args.dry_run, personal=not args.no_personal, feedback_drift=retrain_drift(settings)
    )
    if args.arena_min_battles is not None:
        # 1. Candidates that have fought enough battles are promoted or retired first; 2. a new
        #    version that passes the held-out gate then waits for the arena as a candidate.
        run_arena_gate(settings, args.modality, args.arena_min_battles, personal=False)
        options.arena_min_battles = args.arena_min_battles
    # Each tuning option given is checked against its range (in this order); one not given keeps
    # RetrainOptions' default.
    options.image_targets = args.image_targets
    options.min_examples = _given(args.min_examples, options.min_examples, lambda n: n >= 1, "--min-examples must be at least 1")
    options.max_steps = _given(args.max_steps, options.max_steps, lambda n: n >= 1, "--max-steps must be at least 1")
    options.eval_generation_prompts = _given(
        args.eval_prompts, options.eval_generation_prompts, lambda n: n >= 0, "--eval-prompts must be 0 or more"
    )
    options.sampling_budget_s = _given(
        args.sampling_budget, options.sampling_budget_s, lambda s: s > 0, "--sampling-budget must be more than 0 seconds"
    )
    alpha = _given(args.alpha, None, lambda a: 0 < a < 0.5, "--alpha must be between 0 and 0.5 (e.g. 0.05)")
    if alpha is not None:
        options.gate = GateConfig(alpha=alpha)
    if settings.personal_versions and options.personal and not options.dry_run:
        # A personal version its owner's arena votes show clearly worse is retired every night,
        # before tonight's personal runs (docs/RETRAIN.md, "Arena gate").
        run_personal_arena_gate(settings, args.modality, args.arena_min_battles or DEFAULT_MIN_BATTLES)
    for outcome in retrain(settings, options):
        print(f"[{outcome.modality}] {outcome.message}")
        if outcome.report_path:
            print(f"[{outcome.modality}] report: {outcome.report_path}")
    return EXIT_OK


def _given(value: T | None, default: D, in_range: Callable[[T], bool], message: str) -> T | D:
    """A command-line option's value, or `default` when it was not given; out of range, a CLIError."""
    if value is None:
        return default
    if not in_range(value):
        raise CLIError(message)
    return value
