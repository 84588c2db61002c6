"""Text retrain time against the number of examples, with the default CPU settings.

    .venv/bin/python tests/benchmarks/bench_retrain_text.py [--sizes 20 40 80] [--threads N]

For each size, a fresh data dir gets that many prompts of scripted feedback (a short and a long
answer each, the short one preferred; no generation, so only retraining is timed), then one full
`retrain --modality text` run with the defaults (DPO, 2 epochs, batch 4): read, build data,
train the LoRA, gate on held-out pairs, publish. Prints a Markdown table.
"""

from __future__ import annotations

import argparse
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
    parser.add_argument("--sizes", type=int, nargs="+", default=[20, 40, 80], help="prompts of feedback")
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default)")
    args = parser.parse_args()

    import torch

    from playground.core.database import open_database
    from playground.core.settings import Settings
    from playground.retrain import RetrainOptions, retrain
    from tests.retrain.seed import seed_length_preference

    if args.threads:
        torch.set_num_threads(args.threads)
    cache = Path(tempfile.mkdtemp(prefix="bench-text-cache-"))
    print(f"machine: {describe_machine()}")
    print("| prompts | training pairs | method | steps | train s | evaluate s | total s |")
    print("|---|---|---|---|---|---|---|")
    for size in args.sizes:
        settings = Settings(data_dir=Path(tempfile.mkdtemp(prefix=f"bench-text-{size}-")), device="cpu", model_cache=cache)
        database = open_database(settings)
        seed_length_preference(database, prompts=size)
        started = time.perf_counter()
        (outcome,) = retrain(settings, RetrainOptions(modality="text", eval_generation_prompts=0, personal=False))
        total = time.perf_counter() - started
        import json

        report = json.loads(outcome.report_path.with_suffix(".json").read_text())
        training, timings = report["training"], report["timings_s"]
        print(
            f"| {size} | {report['data']['pairs']} | {training['method']} | {training['steps']} | "
            f"{timings['train_s']} | {timings['evaluate_s']} | {total:.0f} |",
            flush=True,
        )


if __name__ == "__main__":
    main()
