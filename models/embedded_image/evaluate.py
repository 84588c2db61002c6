"""Prompt-following check for the embedded image model, by pixel analysis.

For every held-out scene (caption combinations never seen in training) the model draws one
image; `scenes.analyse_image` reads back the object colour, background colour and the position
of the object's centre, and we count how often each matches the caption.

    python -m models.embedded_image.evaluate --model assets/embedded-image
"""

from __future__ import annotations

import argparse
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import cast

import torch
from diffusers import ImagePipelineOutput
from PIL import Image

from models.embedded_image.card import write_model_card
from models.embedded_image.pipeline import EmbeddedImagePipeline
from models.embedded_image.scenes import Scene, analyse_image, held_out_scenes

DEFAULT_STEPS = 20  # the app's default (models.base.ImageParams)
DEFAULT_GUIDANCE = 3.0


@dataclass
class PromptFollowing:
    """Fractions of images whose attribute matches the prompt."""

    object_colour: float
    background: float
    position: float
    n: int
    failures: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, float | int]:
        return {k: v for k, v in asdict(self).items() if k != "failures"}


def evaluate(
    pipe: EmbeddedImagePipeline,
    scenes: list[Scene] | None = None,
    steps: int = DEFAULT_STEPS,
    guidance_scale: float = DEFAULT_GUIDANCE,
    seed: int = 0,
    batch_size: int = 16,
) -> PromptFollowing:
    """Draw one image per scene (image i with seed + i) and score it by pixel analysis."""
    # 1. The fixed held-out set and its canonical captions.
    scenes = held_out_scenes() if scenes is None else scenes
    images: list[Image.Image] = []
    # 2. Generate in batches at native resolution (analysis needs no upsampling).
    for start in range(0, len(scenes), batch_size):
        chunk = scenes[start : start + batch_size]
        generators = [torch.Generator().manual_seed(seed + start + i) for i in range(len(chunk))]
        output = pipe(
            [s.caption() for s in chunk],
            num_inference_steps=steps,
            guidance_scale=guidance_scale,
            generator=generators,
            output_size=None,
        )
        images += cast(ImagePipelineOutput, output).images
    # 3. Compare what the pixels show with what the caption asked for.
    return score_images(scenes, images)


def score_images(scenes: list[Scene], images: list[Image.Image]) -> PromptFollowing:
    """The shares of `images` (one per scene, any size) whose object colour, background and
    position match their scene's caption; also how any image model follows these captions."""
    hits = {"object_colour": 0, "background": 0, "position": 0}
    failures: list[str] = []
    for scene, image in zip(scenes, images, strict=True):
        seen = analyse_image(image)
        checks = {
            "object_colour": seen.object_colour == scene.colour,
            "background": seen.background == scene.background,
            "position": seen.position == scene.position,
        }
        for key, ok in checks.items():
            hits[key] += ok
        if not all(checks.values()):
            failures.append(f"{scene.caption()!r}: saw {seen}")
    n = len(scenes)
    return PromptFollowing(**{k: v / n for k, v in hits.items()}, n=n, failures=failures)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", type=Path, default=Path("assets/embedded-image"))
    parser.add_argument("--steps", type=int, default=DEFAULT_STEPS)
    parser.add_argument("--guidance", type=float, default=DEFAULT_GUIDANCE)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--verbose", action="store_true", help="list the images that failed a check")
    parser.add_argument("--update-card", action="store_true", help="write the scores into the model card")
    args = parser.parse_args()
    pipe = EmbeddedImagePipeline.from_pretrained(args.model, dtype=torch.float32)
    pipe.set_progress_bar_config(disable=True)
    result = evaluate(pipe, steps=args.steps, guidance_scale=args.guidance, seed=args.seed)
    print(result.as_dict())
    if args.update_card:
        info_path = args.model / "training.json"
        info = json.loads(info_path.read_text())
        info["prompt_following"] = result.as_dict()
        info_path.write_text(json.dumps(info, indent=2) + "\n")
        write_model_card(args.model, info)
    if args.verbose:
        print("\n".join(result.failures))


if __name__ == "__main__":
    main()
