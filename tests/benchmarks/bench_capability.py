"""The capability guard's cost against a nightly run on the embedded models.

    .venv/bin/python tests/benchmarks/bench_capability.py [--modality text image]

For each modality, in a fresh data dir and model cache: the base model's capability figures
(measured once per base model, then cached), then one full `retrain` with the default options on
scripted feedback (text: 30 prompts, a short and a long answer each; image: 40 prompts, a light
and a dark scene each), with the guard on. Prints, from the run's own timings, the candidate's
capability measurement (paid by every run) against the rest of the run: the guard must not
more than double a nightly run's time.
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
    parser.add_argument("--modality", nargs="+", default=["text", "image"], choices=["text", "image"])
    args = parser.parse_args()

    from playground.core.database import open_database
    from playground.core.settings import Settings
    from playground.retrain import RetrainOptions, retrain
    from playground.retrain.capability import base_capability
    from playground.retrain.image import ImageTrainer
    from playground.retrain.text import TextTrainer
    from tests.retrain.image_feedback import seed_brightness_preference
    from tests.retrain.seed import seed_length_preference

    cache = Path(tempfile.mkdtemp(prefix="bench-capability-cache-"))
    rows = []
    for modality in args.modality:
        # 1. Fresh feedback.
        settings = Settings(data_dir=Path(tempfile.mkdtemp(prefix=f"bench-capability-{modality}-")), device="cpu", model_cache=cache)
        settings = settings.model_copy(update={"capability_guard": True})
        database = open_database(settings)
        options = RetrainOptions(modality=modality, personal=False)
        if modality == "text":
            seed_length_preference(database, prompts=30)
            trainer: TextTrainer | ImageTrainer = TextTrainer(settings, options)
        else:
            seed_brightness_preference(database, settings.images_dir, prompts=40)
            trainer = ImageTrainer(settings, options)
        # 2. The base model's figures: once per base model and set.
        started = time.perf_counter()
        base = base_capability(settings, trainer)
        base_s = time.perf_counter() - started
        # 3. One nightly run with the guard on, timed by stage.
        started = time.perf_counter()
        (outcome,) = retrain(settings, options)
        total = time.perf_counter() - started
        report = json.loads(outcome.report_path.with_suffix(".json").read_text())
        timings = report["timings_s"]
        capability_s = timings["capability_s"]
        rows.append((modality, trainer.capability_items(), base_s, capability_s, total, outcome.status, base))
        print(f"{modality}: {outcome.message.splitlines()[-1]} ({total:.0f} s; timings {timings})", flush=True)
    print(f"\nMachine: {describe_machine()}\n")
    print("| modality | items | base model, once (s) | per candidate (s) | nightly run without it (s) | with it / without |")
    print("|---|---|---|---|---|---|")
    for modality, items, base_s, capability_s, total, status, base in rows:
        without = total - capability_s
        print(f"| {modality} | {items} | {base_s:.0f} | {capability_s:.0f} | {without:.0f} ({status}) | {total / without:.2f} |")
        print(f"|  base figures | {base} |||||")


if __name__ == "__main__":
    main()
