"""Image retrain time against the number of examples, with the default (CPU) settings.

    .venv/bin/python tests/benchmarks/bench_retrain_image.py [--sizes 20 40 80] [--threads N]

For each size, a fresh data dir gets that many prompts of rendered light-vs-dark feedback
(two images each, the light one preferred: no generation, so only retraining is timed), then
one full `retrain --modality image` run: read, build data, train the LoRA (steps grow with the
top-rated images, 25 epochs at batch 16, 40-200 steps), gate on held-out pairs, draw the
report's images (4 prompts x 2 images per version), publish. Prints a Markdown table.
"""

from __future__ import annotations

import argparse
import json
import os
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
    parser.add_argument("--sizes", type=int, nargs="+", default=[20, 40, 80], help="prompts of feedback (2 images each)")
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default)")
    args = parser.parse_args()

    import torch

    from models.registry import load_image_generator
    from playground.core.database import open_database
    from playground.core.settings import Settings
    from playground.retrain import RetrainOptions, retrain
    from tests.retrain.image_feedback import seed_brightness_preference

    if args.threads:
        torch.set_num_threads(args.threads)
    load_image_generator("embedded", "cpu").pipeline  # noqa: B018 - load once, outside the timings
    rows = []
    for size in args.sizes:
        # 1. Fresh feedback of this size.
        settings = Settings(data_dir=Path(tempfile.mkdtemp(prefix="bench-retrain-image-")), device="cpu")
        database = open_database(settings)
        seed_brightness_preference(database, settings.images_dir, prompts=size)
        # 2. One full run, timed end to end and by stage (from the run's own timings).
        started = time.perf_counter()
        (outcome,) = retrain(settings, RetrainOptions(modality="image", personal=False))
        total = time.perf_counter() - started
        report = json.loads(outcome.report_path.with_suffix(".json").read_text())
        rows.append(
            (
                size,
                report["training"]["examples"],
                report["training"]["steps"],
                report["timings_s"]["train_s"],
                report["timings_s"]["evaluate_s"],
                total,
                outcome.status,
                report["evaluation"]["rows"],
            )
        )
        print(f"{size} prompts: {outcome.message} ({total:.0f} s)", flush=True)
    print(f"\nMachine: {describe_machine()}\n")
    print(
        "| feedback prompts (images) | top-rated images trained on | steps | train s | evaluate + report images s "
        "| whole run s | s/step | held-out pairs | verdict |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    for size, examples, steps, train_s, eval_s, total, status, gate_rows in rows:
        print(
            f"| {size} ({2 * size}) | {examples} | {steps} | {train_s:.0f} | {eval_s:.0f} | {total:.0f} "
            f"| {train_s / steps:.2f} | {gate_rows} | {status} |"
        )


if __name__ == "__main__":
    main()
