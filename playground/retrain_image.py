"""The image side of `playground retrain`: LoRA on the denoiser, gated by denoising loss.

`ImageTrainer` offers the `ModalityTrainer` steps (see `playground.retrain_trainers`):
- `train`: SFT on the top-rated images, on a separate copy of the denoiser (the serving model
  is never touched), continuing from the active version's adapter;
- `evaluate`: both versions score the held-out pairs (else labelled images) by minus their
  denoising loss on fixed noise, through the serving generator's pipeline switched with
  `use_version`; the shared gate (`evaluate_heldout`) decides;
- `auto_metrics`: both versions draw a few held-out prompts; brightness, contrast and
  saturation go into the report (never into the gate).
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from models.finetune.data import FeedbackDatasets
from models.finetune.evaluate import Evaluation, evaluate_heldout
from models.finetune.image import ImageTrainConfig, train_image_adapter
from models.finetune.image_score import denoising_scorer
from models.finetune.text import TrainResult
from models.metrics import image_metrics
from playground.retrain_trainers import BASE, ActiveVersion, candidate_version
from playground.settings import Settings

EVAL_SEED = 1234  # the report's images: same seeds for both versions
EVAL_IMAGES_PER_PROMPT = 2


class ImageTrainer:
    """LoRA on the configured image model; evaluation through the serving generator."""

    def __init__(self, settings: Settings, options: Any):
        from models.registry import load_image_generator

        self.settings, self.options = settings, options
        # The same generator instance the app serves with scores and samples both versions.
        self.generator = load_image_generator(settings.image_model, settings.device)

    def train(self, datasets: FeedbackDatasets, out_dir: Path, active: ActiveVersion | None) -> TrainResult:
        # 1. A separate denoiser to train, built from the same config and weights as the served one.
        pipe = self.generator.pipeline
        denoiser = _fresh_denoiser(pipe)
        # 2. Sizes for the device, then the run's overrides (tests cap the steps).
        overrides = dict(self.options.train_overrides)
        if self.options.max_steps:
            overrides["max_steps"] = self.options.max_steps
            overrides.setdefault("min_steps", min(self.options.max_steps, ImageTrainConfig.min_steps))
        config = ImageTrainConfig.for_device(pipe.device.type == "cuda", **overrides)
        adapter = active.adapter_path if active else None
        return train_image_adapter(pipe, denoiser, datasets, self.settings.data_dir, out_dir, config, adapter)

    def _scorer(self, version: str, adapter: Path | None):
        pipe = self.generator.pipeline
        return denoising_scorer(pipe, self.settings.data_dir, before_scoring=lambda: self.generator.use_version(version, adapter))

    def evaluate(self, datasets: FeedbackDatasets, active: ActiveVersion | None, name: str, adapter: Path) -> Evaluation:
        old = self._scorer(active.name, active.adapter_path) if active else self._scorer(BASE, None)
        new = self._scorer(candidate_version(name), adapter)
        try:
            return evaluate_heldout(datasets, old, new)
        finally:
            self.generator.use_version(BASE, None)

    def auto_metrics(self, datasets: FeedbackDatasets, active: ActiveVersion | None, name: str, adapter: Path) -> dict[str, Any]:
        """Both versions draw the first held-out prompts with the same seeds; image statistics go in the report."""
        from models.base import ImageParams

        prompts = datasets.heldout_prompts[: self.options.eval_generation_prompts]
        if not prompts:
            return {}
        params = ImageParams(n=EVAL_IMAGES_PER_PROMPT, seed=EVAL_SEED, width=64, height=64)
        versions = {"old": (active.name, active.adapter_path) if active else (BASE, None), "new": (candidate_version(name), adapter)}
        figures: dict[str, Any] = {}
        try:
            with tempfile.TemporaryDirectory(prefix="retrain-images-") as scratch:
                for label, (version, path) in versions.items():
                    self.generator.use_version(version, path)
                    images = [o.image for prompt in prompts for o in self.generator.generate(prompt, params, Path(scratch))]
                    figures[label] = image_metrics(images)
        finally:
            self.generator.use_version(BASE, None)
        return {"prompts": len(prompts), **figures}


def _fresh_denoiser(pipe: Any) -> Any:
    """A copy of the pipeline's denoiser with its base weights and no adapters, in fp32."""
    from models.embedded_image.lora import denoiser_of

    served = denoiser_of(pipe)
    copy = type(served).from_config(served.config)  # fp32 parameters; loading casts into them
    # The served model may carry LoRA layers (peft renames wrapped weights to "base_layer").
    state = {key.replace(".base_layer", ""): value for key, value in served.state_dict().items() if "lora_" not in key}
    copy.load_state_dict(state)
    return copy if served.device.type == "cpu" else copy.to(served.device)
