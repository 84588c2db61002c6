"""Render a sample sheet: one row per prompt (caption on the left), one column per seed.

    python -m models.embedded_image.sample_sheet --model assets/embedded-image \
        --out docs/images/embedded-image-samples.png
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import cast

import torch
from diffusers import ImagePipelineOutput
from PIL import Image, ImageDraw

from models.embedded_image.pipeline import EmbeddedImagePipeline
from models.embedded_image.scenes import held_out_scenes

PROMPTS = [
    "a large red circle at the top left on a light blue background",
    "a small yellow star in the center on a black background",
    "a large blue square at the bottom right on a white background",
    "a large green triangle in the middle on a beige background",
    "a small purple diamond at the top right on a light green background",
    "a large orange circle in the bottom left corner on a gray background",
]
CELL, LABEL_WIDTH, PAD = 128, 430, 6


def make_sheet(
    pipe: EmbeddedImagePipeline, prompts: list[str], seeds: list[int], labels: list[str] | None = None, steps: int = 20
) -> Image.Image:
    # 1. Generate every prompt x seed in one batch (one generator per image).
    generators = [torch.Generator().manual_seed(s) for _ in prompts for s in seeds]
    output = pipe(prompts, num_images_per_prompt=len(seeds), generator=generators, num_inference_steps=steps, output_size=CELL)
    images = cast(ImagePipelineOutput, output).images
    # 2. Lay them out with the prompt text on the left.
    width = LABEL_WIDTH + len(seeds) * (CELL + PAD)
    sheet = Image.new("RGB", (width, len(prompts) * (CELL + PAD) + PAD), "white")
    draw = ImageDraw.Draw(sheet)
    for row, label in enumerate(labels or prompts):
        y = PAD + row * (CELL + PAD)
        draw.text((PAD, y + CELL // 2 - 6), label, fill="black")
        for col in range(len(seeds)):
            sheet.paste(images[row * len(seeds) + col], (LABEL_WIDTH + col * (CELL + PAD), y))
    return sheet


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", type=Path, default=Path("assets/embedded-image"))
    parser.add_argument("--out", type=Path, default=Path("docs/images/embedded-image-samples.png"))
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3])
    args = parser.parse_args()
    pipe = EmbeddedImagePipeline.from_pretrained(args.model, dtype=torch.float32)
    pipe.set_progress_bar_config(disable=True)
    # Two held-out combinations (never seen in training) close the sheet.
    held_out = [s.caption() for s in held_out_scenes()[:2]]
    labels = PROMPTS + [f"{c} (held out)" for c in held_out]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    make_sheet(pipe, PROMPTS + held_out, args.seeds, labels).save(args.out)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
