"""Diffusion-DPO (Wallace et al. 2023, "Diffusion Model Alignment Using Direct Preference
Optimization"), as in diffusers' `train_diffusion_dpo` example, on a LoRA.

For a pair (prompt, chosen image w, rejected image l), both images are noised with the same
noise at the same timestep; the loss asks the trained model to lower the chosen image's
denoising error relative to the rejected one's, more than a frozen reference does:

    diff(m)  = mse_m(w) - mse_m(l)
    loss     = -log sigmoid(-beta / 2 * (diff(model) - diff(reference)))

The reference is the version being improved on: the denoiser with the adapter disabled (the
base) for a first version, or a frozen copy of the active version's adapter loaded beside the
trainable one (as TRL's "ref" adapter for text), so one denoiser sits in memory either way.
The denoising error bounds the image's negative log-likelihood, so this is DPO's implicit
reward on images; the gate (`models.finetune.image_score`) measures the same quantity.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from models.finetune.diffusion import DiffusionParts, denoising_loss, encode_prompts, load_pixels, select, to_model_space

log = logging.getLogger(__name__)
REFERENCE_ADAPTER = "ref"


@dataclass
class PairTensors:
    """The pairs, pre-encoded once: each distinct image and prompt stored a single time."""

    pixels: Any  # uint8 (images, 3, R, R)
    chosen: Any  # (pairs,) index into pixels
    rejected: Any
    conditioning: dict[str, Any]  # per distinct prompt, the empty prompt last
    prompt_index: Any  # (pairs,) index into conditioning

    @property
    def empty_index(self) -> int:
        return len(next(iter(self.conditioning.values()))) - 1

    def __len__(self) -> int:
        return len(self.chosen)


def encode_pairs(parts: DiffusionParts, pairs: list[dict[str, Any]], image_root: Path) -> PairTensors:
    import torch

    images = sorted({p["chosen"] for p in pairs} | {p["rejected"] for p in pairs})
    prompts = sorted({p["prompt"] for p in pairs})
    image_at = {path: k for k, path in enumerate(images)}
    prompt_at = {prompt: k for k, prompt in enumerate(prompts)}
    return PairTensors(
        pixels=load_pixels(images, image_root, parts.resolution),
        chosen=torch.tensor([image_at[p["chosen"]] for p in pairs]),
        rejected=torch.tensor([image_at[p["rejected"]] for p in pairs]),
        conditioning=encode_prompts(parts, prompts + [""]),
        prompt_index=torch.tensor([prompt_at[p["prompt"]] for p in pairs]),
    )


@contextmanager
def reference_mode(denoiser: Any, has_reference_adapter: bool) -> Iterator[None]:
    """Run the denoiser as the frozen reference for the duration of the block."""
    if has_reference_adapter:
        denoiser.set_adapters([REFERENCE_ADAPTER])
        try:
            yield
        finally:
            denoiser.set_adapters(["default"])
    else:
        denoiser.disable_adapters()
        try:
            yield
        finally:
            denoiser.enable_adapters()


def attach_reference(denoiser: Any, active_adapter: Path | None) -> bool:
    """Load the active version's adapter a second time, frozen, as the reference; False when the
    reference is the base (no active adapter)."""
    if active_adapter is None:
        return False
    from models.embedded_image.lora import load_adapter

    load_adapter(denoiser, Path(active_adapter), REFERENCE_ADAPTER)
    denoiser.set_adapters(["default"])
    return True


def detach_reference(denoiser: Any, has_reference_adapter: bool) -> None:
    if has_reference_adapter:
        denoiser.delete_adapters(REFERENCE_ADAPTER)
        denoiser.set_adapters(["default"])


def dpo_loss(model_losses: Any, reference_losses: Any, beta: float) -> tuple[Any, Any]:
    """Diffusion-DPO loss over a batch whose first half is the chosen images and second half the
    rejected ones (same noise, same timesteps, pair by pair); also the share of pairs where the
    model already beats the reference (its implicit-reward accuracy)."""
    import torch.nn.functional as F

    model_w, model_l = model_losses.chunk(2)
    reference_w, reference_l = reference_losses.chunk(2)
    inside = -0.5 * beta * ((model_w - model_l) - (reference_w - reference_l))
    return -F.logsigmoid(inside).mean(), (inside > 0).float().mean()


def dpo_step_loss(
    parts: DiffusionParts,
    data: PairTensors,
    batch: list[int],
    noise_gen: Any,
    caption_dropout: float,
    beta: float,
    has_reference_adapter: bool,
    mixed_precision: bool,
) -> tuple[Any, float]:
    """One batch of pairs: the DPO loss (with gradients to the LoRA) and its accuracy."""
    import torch

    # 1. Chosen then rejected images; one noise draw and timestep per pair, shared by both.
    index = torch.tensor(batch)
    clean = to_model_space(parts, data.pixels[torch.cat([data.chosen[index], data.rejected[index]]).numpy()])
    noise = torch.randn(clean[: len(batch)].shape, generator=noise_gen).to(clean.device).repeat(2, 1, 1, 1)
    timesteps = torch.randint(0, parts.noise_scheduler.config.num_train_timesteps, (len(batch),), generator=noise_gen)
    timesteps = timesteps.repeat(2).to(clean.device)
    # 2. The same prompt (or the empty one, for classifier-free guidance) for both images of a pair.
    rows = data.prompt_index[index].clone()
    rows[torch.rand(len(batch), generator=noise_gen) < caption_dropout] = data.empty_index
    conditioning = select(data.conditioning, rows.repeat(2).to(clean.device))
    # 3. The frozen reference, then the model being trained, on identical inputs.
    with torch.autocast(clean.device.type, dtype=torch.bfloat16, enabled=mixed_precision):
        with torch.no_grad(), reference_mode(parts.denoiser, has_reference_adapter):
            reference = denoising_loss(parts, clean, noise, timesteps, conditioning)
        model = denoising_loss(parts, clean, noise, timesteps, conditioning)
    loss, accuracy = dpo_loss(model.float(), reference.float(), beta)
    return loss, float(accuracy)


def pair_batches(pairs: int, batch_size: int, seed: int) -> Iterator[list[int]]:
    """Endless shuffled epochs over the pairs, `batch_size` at a time."""
    rng = random.Random(seed)
    order: list[int] = []
    while True:
        while len(order) < batch_size:
            order += rng.sample(range(pairs), pairs)
        batch, order = order[:batch_size], order[batch_size:]
        yield batch
