"""Image generation benchmark: our backend vs a raw pipeline call, and cold start.

    .venv/bin/python tests/benchmarks/bench_image.py [--rounds 3]

Measures, in one process on the same model and settings (embedded model, 20 steps,
guidance 3.0, 4 images at 256x256): load from assets + first 4 images, then
DiffusersImageGenerator.generate vs EmbeddedImagePipeline.__call__ alternated, median of rounds.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from tests.benchmarks.machine import describe_machine  # noqa: E402

PROMPT = "a large red circle at the top left on a light blue background"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default)")
    args = parser.parse_args()

    # 1. Imports (paid once per process), then load from assets + the first 4 images.
    started = time.perf_counter()
    import torch

    from models.base import ImageParams
    from models.image_diffusers import DiffusersImageGenerator

    imports_s = time.perf_counter() - started
    if args.threads:
        torch.set_num_threads(args.threads)
    params = ImageParams(steps=20, guidance_scale=3.0, n=4, seed=0, width=256, height=256)
    out_dir = Path(tempfile.mkdtemp(prefix="bench-image-"))
    started = time.perf_counter()
    generator = DiffusersImageGenerator("embedded", device="cpu")
    pipe = generator.pipeline
    load_s = time.perf_counter() - started
    generator.generate(PROMPT, params, out_dir)
    cold_s = time.perf_counter() - started

    # 2. Ours vs raw, alternated so background load hits both alike.
    def raw() -> None:
        generators = [torch.Generator().manual_seed(i) for i in range(params.n)]
        pipe(
            PROMPT,
            num_inference_steps=params.steps,
            guidance_scale=params.guidance_scale,
            num_images_per_prompt=params.n,
            generator=generators,
            output_size=(params.width, params.height),
        )

    ours_times, raw_times = [], []
    for _ in range(args.rounds):
        t = time.perf_counter()
        generator.generate(PROMPT, params, out_dir)
        ours_times.append(time.perf_counter() - t)
        t = time.perf_counter()
        raw()
        raw_times.append(time.perf_counter() - t)
    ours, base = statistics.median(ours_times), statistics.median(raw_times)

    # 3. Report.
    print(f"machine: {describe_machine()}")
    print(
        f"settings: embedded model, {params.steps} steps, guidance {params.guidance_scale}, "
        f"{params.n} images {params.width}x{params.height}, median of {args.rounds} rounds"
    )
    print(f"import torch: {imports_s:.1f} s")
    print(
        f"load from assets (incl. diffusers, transformers imports and the text encoder): {load_s:.1f} s; "
        f"load + first 4 images: {cold_s:.1f} s (target < 10 s)"
    )
    print(f"DiffusersImageGenerator.generate, 4 images: {ours:.2f} s")
    print(f"raw EmbeddedImagePipeline call, 4 images:   {base:.2f} s")
    print(f"ratio ours/raw: {ours / base:.2f}")


if __name__ == "__main__":
    main()
