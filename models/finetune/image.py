"""Train a LoRA adapter on a diffusion denoiser from image feedback: Diffusion-DPO on the
preference pairs when there are enough of them, else SFT on the top-rated images.

The method rule (docs/RETRAIN.md): **Diffusion-DPO** (`models.finetune.image_dpo`, as in
diffusers' `train_diffusion_dpo` example) with at least `min_pairs` training pairs (best picks
and rating gaps), against a frozen reference (the active version, or the base); otherwise
**SFT** as in diffusers' `train_text_to_image_lora` example: noise the top-rated images at
uniformly drawn timesteps, predict with the pipeline's prediction type (epsilon, v or sample)
and minimise the MSE. Only the LoRA parameters train (attention projections by default); the
saved adapter is the format `DiffusersImageGenerator.use_version` loads. Training continues from
the active version's adapter when there is one, so each version builds on the one it replaces.

Supported pipelines: UNet pipelines in pixel space (the embedded model) or with a VAE and
`encode_prompt` (Stable Diffusion 1.x/2.x, sd-turbo); see `models.finetune.diffusion` for what
raises `UnsupportedPipelineError`.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from models.embedded_image.lora import ATTENTION_MODULES
from models.finetune.data import FeedbackDatasets
from models.finetune.diffusion import denoising_loss, diffusion_parts, encode_prompts, load_pixels, select, to_model_space
from models.finetune.image_dpo import attach_reference, detach_reference, dpo_step_loss, encode_pairs, pair_batches
from models.finetune.text import NotEnoughDataError, TrainResult

log = logging.getLogger(__name__)
ADAPTER = "default"
TARGETS = {
    "attention": ATTENTION_MODULES,
    "wide": (*ATTENTION_MODULES, "proj_in", "proj_out", "ff.net.0.proj", "ff.net.2", "time_emb_proj", "linear_1", "linear_2"),
    # The ResNet blocks' 3x3 convolutions: where local structure (edges, texture) is drawn.
    "conv": (*ATTENTION_MODULES, "conv1", "conv2"),
    "conv-all": (*ATTENTION_MODULES, "conv1", "conv2", "conv_in", "conv_out", "conv_shortcut", "conv"),
}


@dataclass(frozen=True)
class ImageTrainConfig:
    """CPU-sized defaults for the embedded model; `for_device` gives GPU-sized settings."""

    # "auto": Diffusion-DPO with at least `min_pairs` training pairs, else SFT; or force one.
    method: str = "auto"
    min_pairs: int = 16
    # Diffusion-DPO's KL weight on the per-pixel MSE difference (diffusers' example: 2500 for SD
    # latents). On the embedded pixel model it moved held-out brightness 151 -> 175 in 44 steps
    # (docs/RETRAIN.md).
    dpo_beta: float = 2500.0
    dpo_batch_pairs: int = 8  # pairs per step: 16 images through the model and 16 through the reference
    # Passes over the pairs. A DPO step costs ~1.5x an SFT step (the reference's forward pass), and
    # pairs are plentiful (a request of 4 gives up to 6), so fewer passes than SFT's. Measured on the
    # brightness loop (117 pairs): 3 passes (44 steps) +23.6 luma with object colour 0.98 -> 0.90;
    # 6 passes (88 steps) +21.5 luma but colour 0.98 -> 0.83 (over-trained).
    dpo_epochs: float = 3.0
    lora_r: int = 8
    lora_alpha: int = 8
    # Attention only (diffusers' example) by default; "wide" adds the feed-forward, projection and
    # time/class-embedding layers, which steer global traits such as background colour.
    targets: str = "attention"
    # Measured on the brightness loop (tests/retrain), SFT: 1e-3 for ~90 steps moved held-out brightness
    # by +6 luma, 3e-3 for 200 steps by +16 with object colours intact. 1e-4 for SD-sized models.
    learning_rate: float = 3e-3
    batch_size: int = 16  # SFT images per step
    epochs: float = 40.0  # passes over the rows (images or pairs); small sets need many to move the model
    min_steps: int = 40
    max_steps: int = 200  # caps the run: ~0.5-0.7 s/step (SFT) on 2 CPU cores for the embedded model
    warmup_steps: int = 5
    # Share of empty prompts: the unconditional branch of classifier-free guidance moves with the
    # conditional one (on an earlier checkpoint, 200 steps at 3e-3 moved brightness at guidance
    # 3.0 by -6 luma without it and +9 with 0.2).
    caption_dropout: float = 0.2
    max_grad_norm: float = 1.0
    mixed_precision: bool = False  # bf16 autocast (CUDA)
    seed: int = 0

    @classmethod
    def for_device(cls, is_cuda: bool, **overrides: Any) -> ImageTrainConfig:
        if is_cuda:  # SD-sized UNets at 512 px: smaller batches, gentler rate, bf16
            defaults = {
                "lora_r": 16,
                "lora_alpha": 16,
                "learning_rate": 1e-4,
                "batch_size": 4,
                "dpo_batch_pairs": 2,
                "epochs": 10.0,
                "max_steps": 1000,
                "mixed_precision": True,
            }
            return cls(**{**defaults, **overrides})
        return cls(**overrides)

    def steps_for(self, examples: int, method: str = "sft") -> int:
        epochs, per_step = (self.dpo_epochs, self.dpo_batch_pairs) if method == "dpo" else (self.epochs, self.batch_size)
        wanted = math.ceil(epochs * examples / per_step)
        return min(max(wanted, self.min_steps), self.max_steps)


def choose_image_method(datasets: FeedbackDatasets, config: ImageTrainConfig) -> str:
    """Diffusion-DPO with enough pairs, else SFT on top-rated images; raise if neither applies."""
    if config.method not in ("auto", "dpo", "sft"):
        raise ValueError(f"unknown image training method {config.method!r} (auto, dpo or sft)")
    wanted = config.method
    if wanted in ("auto", "dpo") and len(datasets.pairs) >= (config.min_pairs if wanted == "auto" else 1):
        return "dpo"
    if wanted in ("auto", "sft") and datasets.sft:
        return "sft"
    raise NotEnoughDataError(
        f"{len(datasets.pairs)} pairs (need {config.min_pairs} for Diffusion-DPO) and "
        f"{len(datasets.sft)} top-rated images ({len(datasets.unpaired)} labelled) to fine-tune on"
    )


def train_image_adapter(
    pipe: Any,
    denoiser: Any,
    datasets: FeedbackDatasets,
    image_root: Path,
    out_dir: Path,
    config: ImageTrainConfig = ImageTrainConfig(),
    active_adapter: Path | None = None,
) -> TrainResult:
    """Fine-tune a LoRA on `denoiser` (a copy of `pipe`'s own) from `datasets` and save it to
    `out_dir`. Image paths in the rows are relative to `image_root` (or absolute)."""
    import torch

    # 1. The method and its rows; nothing to learn from without them.
    method = choose_image_method(datasets, config)
    torch.manual_seed(config.seed)
    parts = diffusion_parts(pipe, denoiser)
    # 2. Only the LoRA trains: a fresh one, or the active version's to continue from.
    trainable = _attach_lora(denoiser, config, active_adapter)
    # 3. Pre-encode once (images as uint8, each distinct prompt: the encoder is frozen) and get
    #    the method's per-step loss.
    if method == "dpo":
        examples, step_loss, cleanup = _dpo_steps(parts, datasets, image_root, config, active_adapter)
        steps = config.steps_for(examples, "dpo")
    else:
        examples, step_loss, cleanup = _sft_steps(parts, datasets, image_root, config)
        steps = config.steps_for(examples)
    optimizer = torch.optim.AdamW(trainable, lr=config.learning_rate, weight_decay=1e-4)
    schedule = torch.optim.lr_scheduler.LambdaLR(optimizer, _warmup_cosine(config.warmup_steps, steps))
    # 4. The loop.
    losses: list[float] = []
    started = time.perf_counter()
    denoiser.train()
    for step in range(steps):
        loss = step_loss()
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(trainable, config.max_grad_norm)
        optimizer.step()
        schedule.step()
        losses.append(loss.item())
        if (step + 1) % 25 == 0:
            log.info("image LoRA (%s) step %d/%d loss %.4f", method, step + 1, steps, sum(losses[-25:]) / len(losses[-25:]))
    denoiser.eval()
    seconds = time.perf_counter() - started
    cleanup()
    # 5. Save only the adapter, in the format the serving generator loads.
    from models.embedded_image.lora import save_adapter

    save_adapter(denoiser, out_dir, ADAPTER)
    log.info("trained image LoRA (%s) on %d rows, %d steps in %.0f s", method, examples, steps, seconds)
    tail = losses[-max(1, steps // 5) :]  # the last fifth: a steadier figure than the last step
    return TrainResult(
        method=method,
        adapter_dir=out_dir,
        examples=examples,
        steps=steps,
        seconds=seconds,
        train_loss=sum(tail) / len(tail),
        config={**asdict(config), "resolution": parts.resolution},
    )


def _sft_steps(
    parts: Any, datasets: FeedbackDatasets, image_root: Path, config: ImageTrainConfig
) -> tuple[int, Callable[[], Any], Callable[[], None]]:
    """SFT: the MSE of the denoiser's prediction on top-rated images at uniform timesteps."""
    import torch

    rows = datasets.sft
    pixels = load_pixels([r["completion"] for r in rows], image_root, parts.resolution)
    prompts = sorted({r["prompt"] for r in rows})
    conditioning = encode_prompts(parts, prompts + [""])
    prompt_index = torch.tensor([prompts.index(r["prompt"]) for r in rows])
    empty_index = len(prompts)
    batches = pair_batches(len(rows), config.batch_size, config.seed)
    noise_gen = torch.Generator().manual_seed(config.seed + 1)

    def step_loss() -> Any:
        batch = next(batches)
        clean = to_model_space(parts, pixels[batch])
        condition_rows = prompt_index[batch].clone()
        condition_rows[torch.rand(len(batch), generator=noise_gen) < config.caption_dropout] = empty_index
        noise = torch.randn(clean.shape, generator=noise_gen).to(clean.device)
        timesteps = torch.randint(0, parts.noise_scheduler.config.num_train_timesteps, (len(batch),), generator=noise_gen).to(clean.device)
        with torch.autocast(clean.device.type, dtype=torch.bfloat16, enabled=config.mixed_precision):
            return denoising_loss(parts, clean, noise, timesteps, select(conditioning, condition_rows.to(clean.device))).mean()

    return len(rows), step_loss, lambda: None


def _dpo_steps(
    parts: Any, datasets: FeedbackDatasets, image_root: Path, config: ImageTrainConfig, active_adapter: Path | None
) -> tuple[int, Callable[[], Any], Callable[[], None]]:
    """Diffusion-DPO on the training pairs against a frozen reference (see `image_dpo`)."""
    import torch

    data = encode_pairs(parts, datasets.pairs, image_root)
    has_reference = attach_reference(parts.denoiser, active_adapter)
    batches = pair_batches(len(data), config.dpo_batch_pairs, config.seed)
    noise_gen = torch.Generator().manual_seed(config.seed + 1)

    def step_loss() -> Any:
        loss, _ = dpo_step_loss(
            parts, data, next(batches), noise_gen, config.caption_dropout, config.dpo_beta, has_reference, config.mixed_precision
        )
        return loss

    return len(data), step_loss, lambda: detach_reference(parts.denoiser, has_reference)


def _attach_lora(denoiser: Any, config: ImageTrainConfig, active_adapter: Path | None) -> list[Any]:
    """Freeze the base, add (or load) the adapter, and return its parameters, in fp32."""
    import torch

    from models.embedded_image.lora import load_adapter

    denoiser.requires_grad_(False)
    if active_adapter is not None:
        load_adapter(denoiser, Path(active_adapter), ADAPTER)
        denoiser.set_adapters([ADAPTER])
    else:
        from peft import LoraConfig

        # As `lora.add_adapter`, with a choice of target layers.
        lora = LoraConfig(
            r=config.lora_r, lora_alpha=config.lora_alpha, init_lora_weights="gaussian", target_modules=list(TARGETS[config.targets])
        )
        denoiser.add_adapter(lora, adapter_name=ADAPTER)
        denoiser.set_adapters([ADAPTER])
    trainable = []
    for name, parameter in denoiser.named_parameters():
        if "lora_" in name and f".{ADAPTER}." in name:
            parameter.data = parameter.data.to(torch.float32)  # fp32 master weights even on a bf16 base
            parameter.requires_grad_(True)
            trainable.append(parameter)
    return trainable


def _warmup_cosine(warmup: int, total: int) -> Any:
    def factor(step: int) -> float:
        if step < warmup:
            return (step + 1) / warmup
        progress = (step - warmup) / max(1, total - warmup)
        return 0.5 * (1 + math.cos(math.pi * progress))

    return factor
