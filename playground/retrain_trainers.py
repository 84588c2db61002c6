"""Per-modality glue for `playground retrain`: load the model, train, evaluate, measure.

Each trainer offers the same three steps to the orchestration in `playground.retrain`:
`train` (adapter into a folder), `evaluate` (new vs active on held-out feedback: the gate) and
`auto_metrics` (figures for the report only, never for the gate).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from models.embedded_text import EMBEDDED_TEXT_SPEC, embedded_text_model_dir
from models.finetune.data import FeedbackDatasets
from models.finetune.evaluate import Evaluation, chat_logprob_scorer, evaluate_heldout
from models.finetune.text import TextTrainConfig, TrainResult, train_text_adapter
from models.metrics import text_metrics
from playground.settings import Settings

BASE = "base"


def candidate_version(name: str) -> str:
    """The serving name of a version under evaluation: distinct from every published name."""
    return f"candidate-{name}"


@dataclass(frozen=True)
class ActiveVersion:
    name: str
    adapter_path: Path


class ModalityTrainer(Protocol):
    def train(self, datasets: FeedbackDatasets, out_dir: Path, active: ActiveVersion | None) -> TrainResult: ...

    def evaluate(self, datasets: FeedbackDatasets, active: ActiveVersion | None, name: str, adapter: Path) -> Evaluation: ...

    def auto_metrics(self, datasets: FeedbackDatasets, active: ActiveVersion | None, name: str, adapter: Path) -> dict[str, Any]: ...


def make_trainer(modality: str, settings: Settings, options: Any) -> ModalityTrainer:
    if modality == "text":
        return TextTrainer(settings, options)
    from playground.retrain_image import ImageTrainer

    return ImageTrainer(settings, options)


class TextTrainer:
    """LoRA with TRL on the configured text model; evaluation through the serving generator."""

    def __init__(self, settings: Settings, options: Any):
        from models.registry import load_text_generator

        self.settings, self.options = settings, options
        # The same generator class that serves requests scores and samples both versions.
        self.generator = load_text_generator(settings.text_model, settings.device, settings.model_cache_dir)

    def train(self, datasets: FeedbackDatasets, out_dir: Path, active: ActiveVersion | None) -> TrainResult:
        from transformers import AutoModelForCausalLM

        # A separate copy to train: the serving model keeps its adapters untouched.
        placement = self.generator.placement
        spec = self.settings.text_model
        path = embedded_text_model_dir(self.settings.model_cache_dir) if spec == EMBEDDED_TEXT_SPEC else spec
        model = AutoModelForCausalLM.from_pretrained(path, dtype=placement.dtype).to(placement.device)
        overrides = dict(self.options.train_overrides)
        if self.options.max_steps:
            overrides["max_steps"] = self.options.max_steps
        config = TextTrainConfig.for_device(placement.is_cuda, **overrides)
        adapter = active.adapter_path if active else None
        return train_text_adapter(model, self.generator.tokenizer, datasets, out_dir, config, adapter)

    def _scorer(self, version: str, adapter: Path | None):
        scorer = chat_logprob_scorer(self.generator.model, self.generator.tokenizer)

        def score(prompts, completions):
            self.generator.use_version(version, adapter)
            return scorer(prompts, completions)

        return score

    def evaluate(self, datasets, active, name, adapter) -> Evaluation:
        old = self._scorer(active.name, active.adapter_path) if active else self._scorer(BASE, None)
        new = self._scorer(candidate_version(name), adapter)
        try:
            return evaluate_heldout(datasets, old, new)
        finally:
            self.generator.use_version(BASE, None)

    def auto_metrics(self, datasets, active, name, adapter) -> dict[str, Any]:
        """Both versions answer a few held-out prompts; lengths and distinct-n go in the report."""
        from models.base import TextParams

        prompts = datasets.heldout_prompts[: self.options.eval_generation_prompts]
        if not prompts:
            return {}
        params = TextParams(max_new_tokens=96, temperature=0.7, n=2, seed=1234)
        figures = {}
        versions = {"old": (active.name, active.adapter_path) if active else (BASE, None), "new": (candidate_version(name), adapter)}
        try:
            for label, (version, path) in versions.items():
                self.generator.use_version(version, path)
                texts = [o.text for prompt in prompts for o in self.generator.generate(prompt, params)]
                figures[label] = text_metrics(texts)
        finally:
            self.generator.use_version(BASE, None)
        return {"prompts": len(prompts), **figures}
