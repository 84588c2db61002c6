"""Train the embedded image model from scratch on rendered scenes, on CPU.

    python -m models.embedded_image.train --out assets/embedded-image [--steps N --seed S]

Writes fp16 safetensors weights, configs and a model card (README.md with prompt-following
scores) into --out. It saves every --save-every steps, so an interrupted run still leaves a
usable model whose card says how far it got.
"""

from __future__ import annotations

import argparse
import copy
import json
import math
import platform
import random
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from models.embedded_image.card import write_model_card
from models.embedded_image.evaluate import evaluate
from models.embedded_image.pipeline import EmbeddedImagePipeline, build_scheduler, build_unet
from models.embedded_image.scenes import PairScene, Scene, render, training_pairs, training_scenes


@dataclass
class TrainConfig:
    out: Path = field(default=Path("assets/embedded-image"), metadata={"help": "output folder"})
    steps: int = field(default=1800, metadata={"help": "optimizer steps"})
    seed: int = field(default=0, metadata={"help": "seeds data order, wording, noise and init"})
    batch_size: int = field(default=32, metadata={"help": "images per step"})
    learning_rate: float = field(default=1e-3, metadata={"help": "peak AdamW learning rate"})
    warmup_steps: int = field(default=50, metadata={"help": "linear warm-up, then cosine decay"})
    caption_dropout: float = field(default=0.1, metadata={"help": "share of empty captions (for CFG)"})
    captions_per_scene: int = field(default=2, metadata={"help": "caption wordings encoded per scene"})
    pair_fraction: float = field(default=0.0, metadata={"help": "share of two-object scenes in the data (0: one object only)"})
    save_every: int = field(default=200, metadata={"help": "save weights every N steps"})
    log_every: int = field(default=25, metadata={"help": "print loss every N steps"})
    init_from: str = field(default="", metadata={"help": "continue from a saved model folder"})
    threads: int = field(default=1, metadata={"help": "torch CPU threads (2 threads thrash on a shared 2-core CPU)"})
    text_layers: str = field(default="0,6", metadata={"help": "MiniLM hidden states to condition on (ignored with --init-from)"})


@dataclass
class CaptionPool:
    """Pre-encoded captions: encoding on the fly would cost a third of each step."""

    scenes: list[Scene | PairScene]
    hidden: torch.Tensor  # (N, T, 384)
    mask: torch.Tensor  # (N, T)
    pooled: torch.Tensor  # (N, 384)
    empty: tuple[torch.Tensor, torch.Tensor, torch.Tensor]  # the "" caption, for dropout


def build_caption_pool(pipe: EmbeddedImagePipeline, config: TrainConfig, rng: random.Random) -> CaptionPool:
    scenes: list[Scene | PairScene] = [s for s in training_scenes() for _ in range(config.captions_per_scene)]
    pairs = round(len(scenes) * config.pair_fraction / (1 - config.pair_fraction))
    scenes += training_pairs(pairs, rng)
    captions = [s.caption(rng) for s in scenes]
    parts = [pipe.encode_prompt(captions[i : i + 256]) for i in range(0, len(captions), 256)]
    hidden, mask, pooled = (torch.cat(p) for p in zip(*parts, strict=True))
    return CaptionPool(scenes, hidden, mask, pooled, pipe.encode_prompt([""]))


def sample_batch(pool: CaptionPool, config: TrainConfig, rng: random.Random) -> tuple[torch.Tensor, ...]:
    """Images rendered with fresh jitter, and their caption embeddings (some dropped)."""
    index = [rng.randrange(len(pool.scenes)) for _ in range(config.batch_size)]
    images = torch.stack([torch.from_numpy(np.array(render(pool.scenes[i], rng))) for i in index])
    images = images.permute(0, 3, 1, 2).float() / 127.5 - 1
    hidden, mask, pooled = pool.hidden[index].clone(), pool.mask[index].clone(), pool.pooled[index].clone()
    drop = torch.tensor([rng.random() < config.caption_dropout for _ in index])
    hidden[drop], mask[drop], pooled[drop] = pool.empty[0], pool.empty[1], pool.empty[2]
    return images, hidden, mask, pooled


def save(pipe: EmbeddedImagePipeline, out: Path) -> None:
    """Save an fp16 copy (half the size; CPU inference upcasts on load)."""
    half = EmbeddedImagePipeline(
        copy.deepcopy(pipe.unet).to(torch.float16),
        pipe.scheduler,
        pipe.text_encoder,
        pipe.tokenizer,
        text_layers=pipe.config.text_layers,
    )
    half.save_pretrained(out, safe_serialization=True)


def parse_text_layers(text: str) -> tuple[int, ...]:
    """ "0,6" -> (0, 6): MiniLM has hidden states 0 (token embeddings) to 6 (last layer)."""
    try:
        layers = tuple(int(layer) for layer in text.split(","))
    except ValueError:
        raise ValueError(f"--text-layers must be comma-separated integers, got {text!r}") from None
    if not layers or not all(0 <= layer <= 6 for layer in layers):
        raise ValueError(f"--text-layers must name hidden states 0..6, got {text!r}")
    return layers


def cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def train(config: TrainConfig) -> dict[str, Any]:
    # 1. Reproducibility: one seed drives init, data and noise; fixed thread count.
    torch.manual_seed(config.seed)
    torch.set_num_threads(config.threads)
    rng = random.Random(config.seed)
    noise_gen = torch.Generator().manual_seed(config.seed + 1)

    # 2. Model, scheduler, optimizer with warm-up + cosine decay.
    previous: dict[str, Any] = {}
    if config.init_from:  # a continuation: the saved model (weights, text layers), and its history
        pipe = EmbeddedImagePipeline.from_pretrained(config.init_from, dtype=torch.float32)
        previous = json.loads((Path(config.init_from) / "training.json").read_text())
        previous.pop("prompt_following", None)
    else:
        text_layers = parse_text_layers(config.text_layers)
        pipe = EmbeddedImagePipeline(build_unet(text_layers=text_layers), build_scheduler(), text_layers=text_layers)
    pipe.set_progress_bar_config(disable=True)
    unet, scheduler = pipe.unet, pipe.scheduler
    optimizer = torch.optim.AdamW(unet.parameters(), lr=config.learning_rate, weight_decay=1e-2)

    def lr_factor(step: int) -> float:
        if step < config.warmup_steps:
            return (step + 1) / config.warmup_steps
        progress = (step - config.warmup_steps) / max(1, config.steps - config.warmup_steps)
        return 0.5 * (1 + math.cos(math.pi * progress))

    lr_schedule = torch.optim.lr_scheduler.LambdaLR(optimizer, lr_factor)
    params = sum(p.numel() for p in unet.parameters())
    print(f"UNet parameters: {params / 1e6:.2f}M; encoding captions...", flush=True)

    # 3. Data: pre-encoded caption pool over the training combinations.
    pool = build_caption_pool(pipe, config, rng)
    print(f"{len(pool.scenes)} captions over {len(set(pool.scenes))} training scenes", flush=True)

    # 4. Train: v-prediction MSE at uniformly drawn timesteps.
    started, info = time.monotonic(), {}
    unet.train()
    for step in range(1, config.steps + 1):
        images, hidden, mask, pooled = sample_batch(pool, config, rng)
        noise = torch.randn(images.shape, generator=noise_gen)
        t = torch.randint(0, scheduler.config.num_train_timesteps, (len(images),), generator=noise_gen)
        noisy = scheduler.add_noise(images, noise, t)
        target = scheduler.get_velocity(images, noise, t)
        pred = unet(noisy, t, encoder_hidden_states=hidden, class_labels=pooled, encoder_attention_mask=mask).sample
        loss = F.mse_loss(pred, target)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(unet.parameters(), 1.0)
        optimizer.step()
        lr_schedule.step()
        elapsed = time.monotonic() - started
        if step % config.log_every == 0:
            print(f"step {step}/{config.steps} loss {loss.item():.4f} {elapsed / step:.2f} s/step", flush=True)
        # 5. Save (and at the end, evaluate) so the card always matches the weights.
        if step % config.save_every == 0 or step == config.steps:
            unet.eval()
            save(pipe, config.out)
            info = {
                "steps": step,
                "planned_steps": config.steps,
                "train_minutes": round(elapsed / 60, 1),
                "s_per_step": round(elapsed / step, 2),
                "parameters": params,
                "machine": f"{cpu_name()}, torch threads: {config.threads}, no GPU",
                "config": {k: str(v) for k, v in asdict(config).items()},
                "continued_from": previous or None,
            }
            if step == config.steps:
                saved = EmbeddedImagePipeline.from_pretrained(config.out, dtype=torch.float32)
                saved.set_progress_bar_config(disable=True)
                scores = evaluate(saved)
                info["prompt_following"] = scores.as_dict()
                print(f"held-out prompt following: {scores.as_dict()}", flush=True)
            (config.out / "training.json").write_text(json.dumps(info, indent=2) + "\n")
            write_model_card(config.out, info)
            unet.train()
    return info


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    for f in TrainConfig.__dataclass_fields__.values():
        parser.add_argument(f"--{f.name.replace('_', '-')}", type=type(f.default), default=f.default, help=f.metadata["help"])
    config = TrainConfig(**vars(parser.parse_args()))
    # Bad options fail here, before minutes of caption encoding.
    if not 0 <= config.pair_fraction < 1:
        parser.error(f"--pair-fraction must be in [0, 1), got {config.pair_fraction}")
    try:
        parse_text_layers(config.text_layers)
    except ValueError as error:
        parser.error(str(error))
    config.out.mkdir(parents=True, exist_ok=True)
    train(config)


if __name__ == "__main__":
    main()
