"""The text side of `playground retrain`: LoRA with TRL on the configured causal LM.

Training uses a separate copy of the model (the serving one keeps its adapters untouched);
scoring and sampling go through the serving generator, switched with `use_version`, and its
own `completion_logprobs` (under the generator's lock).

When the app serves text through an engine (`openai:<URL>`), training and the gate still run
here, on `text_train_model`: a local copy of the engine's base model. The engine then loads the
promoted adapter when the app next serves it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from pathlib import Path
from typing import ClassVar

import numpy as np

from models.base import Modality, TextParams
from models.devices import to_device
from models.embedded_text import EMBEDDED_TEXT_SPEC, embedded_text_model_dir
from models.finetune.capability import CapabilityItem, load_text_capability, text_capability
from models.finetune.data import FeedbackDatasets
from models.finetune.evaluate import Scorer
from models.finetune.text import TextTrainConfig, TrainResult, train_text_adapter
from models.metrics import distinct_n, text_metrics, words
from models.text_embedding import SentenceEmbedder
from models.text_engine_spec import is_engine_spec
from models.text_hf import HFTextGenerator
from playground.core.errors import PlaygroundError
from playground.core.settings import Settings
from playground.retrain.capability import text_capability_path
from playground.retrain.trainers import BASE, ModalityTrainer, RetrainOptions, VersionRef

SAMPLE_PARAMS = TextParams(max_new_tokens=96, temperature=0.7, n=2, seed=1234)  # same seeds for both versions


class TextTrainer(ModalityTrainer):
    modality: ClassVar[Modality] = "text"

    def __init__(self, settings: Settings, options: RetrainOptions):
        from models.registry import load_local_text_generator

        super().__init__(settings, options)
        self.spec = local_text_model(settings)
        self.generator: HFTextGenerator = load_local_text_generator(self.spec, settings.device, settings.model_cache_dir)
        self._embedder: SentenceEmbedder | None = None
        self._capability: list[CapabilityItem] | None = None

    def train(self, datasets: FeedbackDatasets, out_dir: Path, parent: VersionRef) -> TrainResult:
        from transformers import AutoModelForCausalLM

        placement = self.generator.placement
        spec = self.spec
        path = embedded_text_model_dir(self.settings.model_cache_dir) if spec == EMBEDDED_TEXT_SPEC else spec
        model = to_device(AutoModelForCausalLM.from_pretrained(path, dtype=placement.dtype), placement.device)
        config = TextTrainConfig.for_device(self.on_gpu(), **self.config_overrides())
        return train_text_adapter(model, self.generator.tokenizer, datasets, out_dir, config, parent.adapter_path)

    def on_gpu(self) -> bool:
        return self.generator.placement.is_cuda

    def serve(self, version: VersionRef) -> None:
        self.generator.use_version(version.name, version.adapter_path)

    def scorer(self, version: VersionRef) -> Scorer:
        def score(prompts: Sequence[str], completions: Sequence[str]) -> list[tuple[float, int]]:
            self.serve(version)
            return self.generator.completion_logprobs(prompts, completions)

        return score

    def sample(self, version: VersionRef, prompts: Sequence[str]) -> list[tuple[str, str]]:
        self.serve(version)
        return [(prompt, output.text) for prompt in prompts for output in self.generator.generate(prompt, SAMPLE_PARAMS)]

    def measure_capability(self, version: VersionRef) -> dict[str, float]:
        try:
            self.serve(version)
            return text_capability(self.capability_set(), self.generator.completion_logprobs, self.generator.short_answers)
        finally:
            self.serve(BASE)

    def capability_set(self) -> list[CapabilityItem]:
        if self._capability is None:
            self._capability = load_text_capability(text_capability_path(self.settings))
        return self._capability

    def capability_fingerprint(self) -> str:
        path = text_capability_path(self.settings)
        return f"text|{self.spec}|{self.generator.placement.dtype}|{hashlib.sha256(path.read_bytes()).hexdigest()}"

    def capability_set_name(self) -> str:
        return text_capability_path(self.settings).name

    def capability_items(self) -> int:
        return len(self.capability_set())

    def features(self, outputs: Sequence[str]) -> list[dict[str, float]]:
        return [text_features(text) for text in outputs]

    def summary(self, outputs: Sequence[str]) -> dict[str, float]:
        return text_metrics(list(outputs))

    def represent(self, outputs: Sequence[str]) -> np.ndarray:
        """What the judge compares answers by: their meaning (MiniLM sentence vectors) and shape
        (the behaviour features: length, lines, sentences...)."""
        if self._embedder is None:
            self._embedder = SentenceEmbedder()
        return np.hstack([self._embedder.embed(list(outputs)), super().represent(outputs)])


class MissingTrainModelError(PlaygroundError):
    """Text is served by an engine and no local copy of its base model was named to train on."""


def local_text_model(settings: Settings) -> str:
    """The text model retrain trains and scores on: `text_model`, or with an engine spec the
    local copy named by `text_train_model` (it must be the engine's base model, or the engine
    refuses the adapters)."""
    if not is_engine_spec(settings.text_model):
        return settings.text_model
    if not settings.text_train_model or is_engine_spec(settings.text_train_model):
        raise MissingTrainModelError(
            f"text is served by the engine {settings.text_model}; retraining needs the same base model here: "
            "set PLAYGROUND_TEXT_TRAIN_MODEL (or --text-train-model) to 'embedded', a Hugging Face id or a local path"
        )
    return settings.text_train_model


def text_features(text: str) -> dict[str, float]:
    """What a rater might react to that needs no model: length, sentences, repetition."""
    count = words(text)
    return {
        "words": float(count),
        "characters": float(len(text)),
        "sentences": float(sum(text.count(mark) for mark in ".!?")),
        "mean_word_length": len(text.replace(" ", "")) / count if count else 0.0,
        "distinct_1": distinct_n([text], 1),
        "lines": float(text.count("\n") + 1),
    }
