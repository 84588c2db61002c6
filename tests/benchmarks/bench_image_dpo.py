"""Diffusion-DPO against SFT on the embedded image model: seconds per step and peak memory.

    .venv/bin/python tests/benchmarks/bench_image_dpo.py [--steps 30] [--rounds 2] [--threads 1]

Both methods train from the base on the same rendered light-vs-dark feedback (60 prompts, no
generation) with the default CPU settings: SFT 16 images a step; DPO 8 pairs a step (16 images
through the trained model with gradients, 16 through the frozen reference without). Each run is
its own process, SFT and DPO alternating, so neither inherits the other's memory or warm-up;
peak memory is the rise of the process's peak RSS during training (Linux `clear_refs`).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from tests.benchmarks.machine import describe_machine  # noqa: E402


def rss_kb(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field):
            return int(line.split()[1])
    raise RuntimeError(f"no {field} in /proc/self/status")


def child(method: str, steps: int, threads: int) -> None:
    """One training run: prints a JSON line with its timings and memory."""
    import torch

    from feedback_db.frames import outputs_frame, ratings_frame, set_ratings_frame
    from models.finetune.data import build_datasets
    from models.finetune.diffusion import fresh_denoiser
    from models.finetune.image import ImageTrainConfig, train_image_adapter
    from models.registry import load_image_generator
    from playground.core.database import open_database
    from playground.core.settings import Settings
    from tests.retrain.image_feedback import seed_brightness_preference

    torch.set_num_threads(threads)
    # 1. Feedback and the model, outside the measurement.
    settings = Settings(data_dir=Path(tempfile.mkdtemp(prefix="bench-image-dpo-")), device="cpu")
    database = open_database(settings)
    seed_brightness_preference(database, settings.images_dir, prompts=60)
    with database.read_sessions() as session:
        datasets = build_datasets("image", ratings_frame(session), set_ratings_frame(session), outputs_frame(session))
    pipe = load_image_generator("embedded", "cpu").pipeline
    denoiser = fresh_denoiser(pipe)
    # 2. Reset the peak-RSS counter, train, read the peak back.
    Path("/proc/self/clear_refs").write_text("5")
    before = rss_kb("VmRSS:")
    config = ImageTrainConfig(method=method, min_steps=steps, max_steps=steps)
    result = train_image_adapter(pipe, denoiser, datasets, settings.data_dir, settings.data_dir / "adapter", config)
    peak = rss_kb("VmHWM:")
    print(
        json.dumps(
            {
                "method": result.method,
                "steps": result.steps,
                "seconds": result.seconds,
                "peak_rise_mb": (peak - before) / 1024,
                "rss_before_mb": before / 1024,
                "rows": result.examples,
            }
        )
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--child", choices=("sft", "dpo"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.steps, args.threads)
        return
    results: dict[str, list[dict]] = {"sft": [], "dpo": []}
    for _ in range(args.rounds):
        for method in ("sft", "dpo"):
            out = subprocess.run(
                [sys.executable, __file__, "--child", method, "--steps", str(args.steps), "--threads", str(args.threads)],
                capture_output=True,
                text=True,
                check=True,
                cwd=Path(__file__).resolve().parents[2],
            )
            results[method].append(json.loads(out.stdout.strip().splitlines()[-1]))
            print(results[method][-1], flush=True)
    per_step = {m: statistics.median(r["seconds"] / r["steps"] for r in runs) for m, runs in results.items()}
    peak = {m: statistics.median(r["peak_rise_mb"] for r in runs) for m, runs in results.items()}
    print(f"\nMachine: {describe_machine()}\n")
    print(f"| method | rows | images through the model per step | s/step (median of {args.rounds}) | peak RSS rise during training (MB) |")
    print("|---|---|---|---|---|")
    print(f"| SFT (top-rated images) | {results['sft'][0]['rows']} | 16 (forward + backward) | {per_step['sft']:.2f} | {peak['sft']:.0f} |")
    print(
        f"| Diffusion-DPO (pairs) | {results['dpo'][0]['rows']} | 16 + 16 reference (forward only) "
        f"| {per_step['dpo']:.2f} | {peak['dpo']:.0f} |"
    )
    print(
        f"\nDPO / SFT: {per_step['dpo'] / per_step['sft']:.2f}x time per step, {peak['dpo'] / max(peak['sft'], 1e-9):.2f}x peak memory rise"
    )


if __name__ == "__main__":
    main()
