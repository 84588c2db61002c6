"""Replay share against preference and capability along a chain of image nights.

    .venv/bin/python tests/benchmarks/bench_replay.py [--shares 0 0.5 1] [--nights bright dark bright] [--max-steps 40] [--no-guard]

Night after night a new scripted rater rates rendered scenes on a light and a dark background
(tests/retrain/image_feedback.py) with the night's taste, then one `retrain` with the capability
guard on. Night one (base model as parent: everything is new at any share) runs once and its
version is promoted; each share then continues from a copy of its data dir (one shared model
cache, so the base model's capability figures are measured once). Prints per night and share: the gate's decision and
held-out prompts won / lost (the preference figure), the held-out images' mean brightness,
candidate minus parent, signed so that positive is toward the night's taste (n/a unless the
behaviour comparison draws images), the capability figures of the candidate against the base
model (the worst drop and its tolerance), the replayed prompts and the train seconds.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from tests.benchmarks.machine import describe_machine  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--shares", nargs="+", type=float, default=[0.0, 0.5, 1.0])
    parser.add_argument("--nights", nargs="+", choices=["bright", "dark"], default=["bright", "bright", "dark", "dark", "bright"])
    parser.add_argument("--max-steps", type=int, default=40)
    parser.add_argument("--no-guard", action="store_true", help="leave the capability guard off (no capability figures; faster)")
    args = parser.parse_args()

    from feedback_db.versions import list_versions, promote_version
    from playground.core.database import open_database
    from playground.core.settings import Settings
    from playground.retrain import RetrainOptions, retrain
    from tests.retrain.image_feedback import seed_brightness_preference

    cache = Path(tempfile.mkdtemp(prefix="bench-replay-cache-"))
    options = RetrainOptions(modality="image", eval_generation_prompts=0, min_examples=4, personal=False, max_steps=args.max_steps)
    rows = []

    def night(settings: Settings, number: int, share: float | str) -> None:
        """The night's new feedback from a rater of its taste, then the nightly run."""
        taste = args.nights[number - 1]
        seed_brightness_preference(
            open_database(settings), settings.data_dir / f"night{number}", prompts=40 + number, prefer_bright=taste == "bright"
        )
        started = time.perf_counter()
        (outcome,) = retrain(settings, options)
        total = time.perf_counter() - started
        report = json.loads(outcome.report_path.with_suffix(".json").read_text()) if outcome.report_path else {"timings_s": {}}
        rows.append((share, number, taste, outcome.status, report, total))
        print(f"share {share} night {number} ({taste}): {outcome.message.splitlines()[-1]} ({total:.0f} s)", flush=True)

    # 1. Night one trains on the base model, where all feedback is new whatever the share: run once,
    #    its version promoted (whatever its gate said) so that every share continues the same chain.
    first = Settings(
        data_dir=Path(tempfile.mkdtemp(prefix="bench-replay-night1-")), device="cpu", model_cache=cache, capability_guard=not args.no_guard
    )
    night(first, 1, "any")
    with open_database(first).sessions.begin() as session:
        latest = max(list_versions(session, modality="image"), key=lambda version: version.id)
        promote_version(session, version_id=latest.id)
    # 2. The later nights, once per share, each on its own copy of night one's data.
    for share in args.shares:
        data_dir = Path(tempfile.mkdtemp(prefix=f"bench-replay-{share}-")) / "data"
        shutil.copytree(first.data_dir, data_dir)
        settings = first.model_copy(update={"data_dir": data_dir, "replay_share": share})
        for number in range(2, len(args.nights) + 1):
            night(settings, number, share)
    print(f"\nMachine: {describe_machine()}\n")
    columns = (
        "share",
        "night (taste)",
        "decision",
        "held-out better / worse",
        "brightness toward taste",
        "worst capability drop (figure, tolerance)",
    )
    columns += ("new + replayed / old prompts", "train s (rows, steps)", "run s")
    print("| " + " | ".join(columns) + " |")
    print("|" + "---|" * len(columns))
    for share, night, taste, status, report, total in rows:
        cells = (str(share), f"{night} ({taste})", status, _gate(report), _toward_taste(report, taste), _worst_drop(report))
        cells += (_replay(report), _training(report), f"{total:.0f}")
        print("| " + " | ".join(cells) + " |")


def _gate(report: dict) -> str:
    evaluation = report.get("evaluation") or {}
    return f"{evaluation.get('wins')} / {evaluation.get('losses')}"


def _toward_taste(report: dict, taste: str) -> str:
    behaviour = report.get("behaviour") or {}
    old, new = behaviour.get("old", {}).get("mean_brightness"), behaviour.get("new", {}).get("mean_brightness")
    if old is None or new is None:
        return "n/a"
    moved = (new - old) if taste == "bright" else (old - new)
    return f"{moved:+.1f} ({old:.0f} -> {new:.0f})"


def _worst_drop(report: dict) -> str:
    capability = report.get("capability") or {}
    if not capability.get("tolerance"):
        return "n/a"
    drops = {k: capability["base"][k] - capability["candidate"][k] for k in capability["tolerance"]}
    worst = max(drops, key=lambda k: drops[k] / capability["tolerance"][k] if capability["tolerance"][k] else drops[k])
    return f"{drops[worst]:+.3f} ({worst}, {capability['tolerance'][worst]})"


def _training(report: dict) -> str:
    training = report.get("training", {})
    return f"{report['timings_s'].get('train_s')} ({training.get('examples')}, {training.get('steps')})"


def _replay(report: dict) -> str:
    data = report.get("data", {})
    return f"{data.get('new_prompts')} + {data.get('replayed_prompts')} / {data.get('old_prompts')}"


if __name__ == "__main__":
    main()
