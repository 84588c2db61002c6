"""The image side of `playground retrain`: LoRA on the denoiser, gated by denoising loss.

- `train`: SFT on the top-rated images, on a separate copy of the denoiser (the serving model
  is never touched), continuing from the parent version's adapter;
- `scorer`: minus the denoising loss on fixed noise (`models.finetune.image_score`), through the
  serving generator's pipeline switched with `use_version`;
- `sample`/`features`: both versions draw held-out prompts with the same seeds; brightness,
  contrast and saturation feed the behaviour comparison and the report.
"""

from __future__ import annotations

import tempfile
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any, ClassVar

from models.base import ImageParams, Modality
from models.embedded_image.evaluate import score_images
from models.embedded_image.scenes import held_out_scenes
from models.finetune.data import FeedbackDatasets
from models.finetune.diffusion import fresh_denoiser
from models.finetune.evaluate import Scorer
from models.finetune.image import ImageTrainConfig, train_image_adapter
from models.finetune.image_score import denoising_scorer
from models.finetune.text import TrainResult
from models.image_diffusers import DiffusersImageGenerator
from models.metrics import image_metrics
from playground.core.settings import Settings
from playground.retrain.trainers import BASE, ModalityTrainer, RetrainOptions, VersionRef

SAMPLE_PARAMS = ImageParams(n=2, seed=1234, width=64, height=64)  # same seeds for both versions
# The capability set: every held-out caption combination three times (87 images; one image is
# 1.1 points of a share), drawn small: the pixel analysis downsamples to 32 x 32 anyway.
CAPABILITY_SCENES_PER_COMBINATION = 3
CAPABILITY_PARAMS = ImageParams(n=1, seed=0, width=64, height=64)


class ImageTrainer(ModalityTrainer):
    modality: ClassVar[Modality] = "image"

    def __init__(self, settings: Settings, options: RetrainOptions):
        from models.registry import load_image_generator

        super().__init__(settings, options)
        generator = load_image_generator(settings.image_model, settings.device)
        if not isinstance(generator, DiffusersImageGenerator):
            raise TypeError(f"retraining needs a local diffusers pipeline, not {type(generator).__name__}")
        self.generator = generator

    def train(self, datasets: FeedbackDatasets, out_dir: Path, parent: VersionRef) -> TrainResult:
        pipe = self.generator.pipeline
        denoiser = fresh_denoiser(pipe)
        overrides = self.config_overrides()
        if self.options.image_targets:
            overrides["targets"] = self.options.image_targets
        if "max_steps" in overrides:  # a cap below the usual minimum must still hold
            overrides.setdefault("min_steps", min(overrides["max_steps"], ImageTrainConfig.min_steps))
        config = ImageTrainConfig.for_device(self.on_gpu(), **overrides)
        return train_image_adapter(pipe, denoiser, datasets, self.settings.data_dir, out_dir, config, parent.adapter_path)

    def on_gpu(self) -> bool:
        return bool(self.generator.pipeline.device.type == "cuda")

    def serve(self, version: VersionRef) -> None:
        self.generator.use_version(version.name, version.adapter_path)

    def scorer(self, version: VersionRef) -> Scorer:
        return denoising_scorer(self.generator.pipeline, self.settings.data_dir, before_scoring=lambda: self.serve(version))

    def sample(self, version: VersionRef, prompts: Sequence[str]) -> list[tuple[str, Any]]:
        self.serve(version)
        with tempfile.TemporaryDirectory(prefix="retrain-images-") as scratch:
            return [
                (prompt, output.image) for prompt in prompts for output in self.generator.generate(prompt, SAMPLE_PARAMS, Path(scratch))
            ]

    def measure_capability(self, version: VersionRef) -> dict[str, float]:
        """Prompt following on the held-out caption combinations: each scene drawn once (seed i),
        its object colour, background and position read back from the pixels."""
        scenes = held_out_scenes(CAPABILITY_SCENES_PER_COMBINATION)
        try:
            self.serve(version)
            with tempfile.TemporaryDirectory(prefix="retrain-capability-") as scratch:
                images = [
                    self.generator.generate(scene.caption(), replace(CAPABILITY_PARAMS, seed=i), Path(scratch))[0].image
                    for i, scene in enumerate(scenes)
                ]
        finally:
            self.serve(BASE)
        result = score_images(scenes, images)
        return {"object_colour": result.object_colour, "background": result.background, "position": result.position}

    def capability_fingerprint(self) -> str:
        return f"image|{self.settings.image_model}|{CAPABILITY_PARAMS}|{CAPABILITY_SCENES_PER_COMBINATION}"

    def capability_set_name(self) -> str:
        return "held-out caption combinations"

    def capability_items(self) -> int:
        return len(held_out_scenes(CAPABILITY_SCENES_PER_COMBINATION))

    def features(self, outputs: Sequence[Any]) -> list[dict[str, float]]:
        return [{k: float(v) for k, v in image_metrics([image]).items() if k not in ("count", "sd_brightness")} for image in outputs]

    def summary(self, outputs: Sequence[Any]) -> dict[str, float]:
        return image_metrics(list(outputs))

    def load_rated_output(self, completion: str) -> Any:
        from PIL import Image

        with Image.open(self.settings.stored_file(completion)) as image:
            return image.convert("RGB")
