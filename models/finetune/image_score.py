"""Score (prompt, image) rows for the gate: minus the denoising loss, on fixed noise.

A diffusion model's denoising loss on an image is (up to constants) a bound on the image's
negative log-likelihood, so "minus the loss" plays the part the summed log-probability plays
for text in `models.finetune.evaluate`: higher = the version finds the image more likely.
Compared between two versions on held-out pairs it is the implicit reward of Diffusion-DPO.

The score is deterministic: every image is noised at the same timesteps with the same noise
seeds under every version, so old and new differ only by their weights (common random
numbers keep the comparison's variance low).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from models.finetune.diffusion import DiffusionParts, denoising_loss, diffusion_parts, encode_prompts, load_pixels, to_model_space
from models.finetune.evaluate import Scorer

# Spread over the schedule: high timesteps judge the overall colour and layout, low ones detail.
TIMESTEPS = (50, 200, 350, 500, 650, 800, 950)
NOISE_SEEDS = (0, 1)


def denoising_scorer(
    pipe: Any,
    image_root: Path,
    timesteps: Sequence[int] = TIMESTEPS,
    noise_seeds: Sequence[int] = NOISE_SEEDS,
    batch_size: int = 32,
    before_scoring: Callable[[], None] | None = None,
) -> Scorer:
    """A `Scorer` for `evaluate_pairs`/`evaluate_labels`: (-mean loss, 1) per row.

    `before_scoring` runs before each call (e.g. switching the serving generator to the
    version being scored). Repeated rows are scored once per scorer.
    """
    cache: dict[tuple[str, str], float] = {}

    def score(prompts: Sequence[str], completions: Sequence[str]) -> list[tuple[float, int]]:
        if before_scoring is not None:
            before_scoring()
        parts = diffusion_parts(pipe)
        todo = sorted({(p, c) for p, c in zip(prompts, completions, strict=True)} - cache.keys())
        for start in range(0, len(todo), batch_size):
            chunk = todo[start : start + batch_size]
            losses = mean_losses(parts, chunk, image_root, timesteps, noise_seeds)
            cache.update({row: -loss for row, loss in zip(chunk, losses, strict=True)})
        return [(cache[(p, c)], 1) for p, c in zip(prompts, completions, strict=True)]

    return score


def mean_losses(
    parts: DiffusionParts,
    rows: Sequence[tuple[str, str]],
    image_root: Path,
    timesteps: Sequence[int],
    noise_seeds: Sequence[int],
) -> list[float]:
    """Mean denoising loss of each (prompt, image path) row over timesteps x noise seeds."""
    import torch

    with torch.inference_mode():
        # 1. Images in model space and their prompts' conditioning.
        clean = to_model_space(parts, load_pixels([c for _, c in rows], image_root, parts.resolution))
        conditioning = encode_prompts(parts, [p for p, _ in rows])
        totals = torch.zeros(len(rows))
        # 2. The same noise for every row and version: only the weights differ.
        for seed in noise_seeds:
            noise = torch.randn(clean.shape[1:], generator=torch.Generator().manual_seed(seed)).to(clean.device)
            noise = noise.expand_as(clean)
            for t in timesteps:
                steps = torch.full((len(rows),), int(t), dtype=torch.long, device=clean.device)
                totals += denoising_loss(parts, clean, noise, steps, conditioning).float().cpu()
    return (totals / (len(timesteps) * len(noise_seeds))).tolist()
