"""What image training and image scoring share: rows to tensors the denoiser can read.

A diffusion pipeline is reduced to four things: the denoiser (UNet), a training noise schedule,
the prompt conditioning it takes, and the space it denoises in (pixels for the embedded model,
VAE latents for Stable Diffusion). Supported pipelines:

- `EmbeddedImagePipeline` (pixel space, MiniLM conditioning with a pooled class embedding);
- UNet pipelines whose `encode_prompt(prompt, device, n, do_cfg)` gives the cross-attention
  states and whose UNet needs nothing else (Stable Diffusion 1.x/2.x, sd-turbo).
SDXL (extra "text_time" embeddings) and transformer pipelines (SD3, Flux: flow matching) raise
`UnsupportedPipelineError`: they need their own conditioning and loss.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from models.base import ModelError


class UnsupportedPipelineError(ModelError):
    """The pipeline's denoiser needs conditioning or a loss this trainer does not build."""


class ImageFileError(ModelError):
    """A feedback row names an image file that is missing or unreadable."""


@dataclass
class DiffusionParts:
    """The pieces of a pipeline that training and scoring use, with the denoiser to run."""

    pipe: Any
    denoiser: Any
    noise_scheduler: Any  # a DDPM scheduler with the pipeline's betas and prediction type
    resolution: int  # pixel size images are brought to before encoding

    @property
    def device(self) -> Any:
        return next(self.denoiser.parameters()).device

    @property
    def prediction_type(self) -> str:
        return str(self.noise_scheduler.config.prediction_type)


def diffusion_parts(pipe: Any, denoiser: Any | None = None) -> DiffusionParts:
    """Wrap `pipe`; `denoiser` replaces its own (a separate copy to train)."""
    from diffusers import DDPMScheduler

    from models.embedded_image.lora import denoiser_of

    denoiser = denoiser if denoiser is not None else denoiser_of(pipe)
    config = denoiser.config
    if getattr(pipe, "transformer", None) is not None and getattr(pipe, "unet", None) is None:
        raise UnsupportedPipelineError(f"{type(pipe).__name__}: transformer (flow-matching) pipelines are not supported")
    if config.get("addition_embed_type"):
        raise UnsupportedPipelineError(
            f"{type(pipe).__name__}: UNets with {config.addition_embed_type!r} embeddings (SDXL) are not supported"
        )
    # DDPM's add_noise/get_velocity follow the pipeline's betas (zero-SNR rescaling included),
    # whatever sampler the pipeline uses at inference time.
    noise_scheduler = DDPMScheduler.from_config(pipe.scheduler.config)
    scale = getattr(pipe, "vae_scale_factor", 1) if getattr(pipe, "vae", None) is not None else 1
    return DiffusionParts(pipe, denoiser, noise_scheduler, int(config.sample_size) * int(scale))


def load_pixels(paths: Sequence[str], root: Path, resolution: int) -> np.ndarray:
    """Images as uint8 (N, 3, R, R): stored PNGs are display-sized, the model needs its own size.

    Downsampling uses a box filter (area averaging), which undoes the app's bicubic upsampling
    of the embedded model's 32x32 images almost exactly.
    """
    from PIL import Image, UnidentifiedImageError

    arrays = []
    for relative in paths:
        path = Path(root) / relative  # absolute paths stay absolute
        try:
            with Image.open(path) as image:
                rgb = image.convert("RGB")
        except (OSError, UnidentifiedImageError) as exc:
            raise ImageFileError(f"cannot read image {path}: {exc}") from exc
        shrink = rgb.width >= resolution and rgb.height >= resolution
        rgb = rgb.resize((resolution, resolution), Image.Resampling.BOX if shrink else Image.Resampling.BICUBIC)
        arrays.append(np.asarray(rgb, dtype=np.uint8).transpose(2, 0, 1))
    return np.stack(arrays)


def to_model_space(parts: DiffusionParts, pixels: np.ndarray) -> Any:
    """uint8 pixels -> what the denoiser denoises: [-1, 1] pixels, or scaled VAE latents."""
    import torch

    images = torch.from_numpy(pixels).float().div(127.5).sub(1).to(parts.device)
    vae = getattr(parts.pipe, "vae", None)
    if vae is None:
        return images
    with torch.no_grad():
        # The distribution's mode, not a sample: scoring must be deterministic.
        latents = vae.encode(images.to(vae.dtype)).latent_dist.mode()
    return latents.float() * vae.config.scaling_factor


def encode_prompts(parts: DiffusionParts, prompts: Sequence[str]) -> dict[str, Any]:
    """The denoiser's conditioning keywords for each prompt (the text encoder stays frozen)."""
    import torch

    from models.embedded_image.pipeline import EmbeddedImagePipeline

    prompts = list(prompts)
    with torch.no_grad():
        if isinstance(parts.pipe, EmbeddedImagePipeline):
            hidden, mask, pooled = parts.pipe.encode_prompt(prompts)
            tensors = {"encoder_hidden_states": hidden, "class_labels": pooled, "encoder_attention_mask": mask}
        elif hasattr(parts.pipe, "encode_prompt"):
            embeds = parts.pipe.encode_prompt(prompts, parts.device, 1, False)[0]
            tensors = {"encoder_hidden_states": embeds}
        else:
            raise UnsupportedPipelineError(f"{type(parts.pipe).__name__} has no encode_prompt")
    return {key: value.float().to(parts.device) for key, value in tensors.items()}


def select(conditioning: dict[str, Any], index: Any) -> dict[str, Any]:
    return {key: value[index] for key, value in conditioning.items()}


def denoising_target(parts: DiffusionParts, clean: Any, noise: Any, timesteps: Any) -> Any:
    """What the denoiser should output, in the pipeline's own prediction type."""
    kind = parts.prediction_type
    if kind == "epsilon":
        return noise
    if kind == "v_prediction":
        return parts.noise_scheduler.get_velocity(clean, noise, timesteps)
    if kind == "sample":
        return clean
    raise UnsupportedPipelineError(f"unknown prediction type {kind!r}")


def denoising_loss(parts: DiffusionParts, clean: Any, noise: Any, timesteps: Any, conditioning: dict[str, Any]) -> Any:
    """Per-example MSE of the denoiser's prediction at the given noise and timesteps: (B,)."""
    noisy = parts.noise_scheduler.add_noise(clean, noise, timesteps)
    target = denoising_target(parts, clean, noise, timesteps)
    dtype = parts.denoiser.dtype
    prediction = parts.denoiser(noisy.to(dtype), timesteps, **{k: v.to(dtype) for k, v in conditioning.items()}).sample
    return (prediction.float() - target.float()).pow(2).flatten(1).mean(1)


def fresh_denoiser(pipe: Any) -> Any:
    """A trainable copy of the pipeline's denoiser: its base weights, no adapters, in fp32."""
    from models.embedded_image.lora import denoiser_of

    served = denoiser_of(pipe)
    copy = type(served).from_config(served.config)  # fp32 parameters; loading casts into them
    # The served model may carry LoRA layers (peft renames wrapped weights to "base_layer").
    state = {key.replace(".base_layer", ""): value for key, value in served.state_dict().items() if "lora_" not in key}
    copy.load_state_dict(state)
    return copy if served.device.type == "cpu" else copy.to(served.device)
