"""What every modality's trainer shares: options, version references, the gate and the
behaviour comparison. `text.py` and `image.py` only add how to train, score and sample.

Imports point one way: `run` -> `text`/`image` -> `trainers` (-> `behaviour`); nothing here
imports a modality module, so the package has no import cycle (tested).
"""

from __future__ import annotations

import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Literal

import numpy as np

from feedback_db.schema import ModelVersion
from models.base import BASE_VERSION, Modality
from models.finetune.data import FeedbackDatasets
from models.finetune.evaluate import Evaluation, GateConfig, Scorer, evaluate_heldout
from models.finetune.text import TrainResult
from playground.core.database import Database
from playground.core.settings import Settings
from playground.retrain.behaviour import BehaviourComparison, compare_behaviour, judge_answers

CANDIDATE_PREFIX = "candidate-"
CPU_SAMPLING_BUDGET_S = 300.0  # the judged-answers test: both versions answering held-out prompts
GPU_SAMPLING_BUDGET_S = 120.0


@dataclass
class RetrainOptions:
    modality: Modality | Literal["all"] = "all"
    dry_run: bool = False
    min_examples: int = 16  # usable training rows needed before a run trains at all
    max_steps: int | None = None  # cap training steps (quick runs, tests)
    eval_generation_prompts: int = 24  # at most this many held-out prompts both versions answer (judged answers)
    sampling_budget_s: float | None = None  # time for sampling them; None: 300 s on a CPU, 120 s on a GPU
    train_overrides: dict[str, Any] = field(default_factory=dict)  # fields of the trainer's config
    image_targets: str | None = None  # the image LoRA's layer set (models.finetune.image.TARGETS); None: its default
    gate: GateConfig = field(default_factory=GateConfig)
    arena_min_battles: int | None = None  # set: the held-out gate alone never promotes; the arena decides
    personal: bool = True  # also train personal versions (if the settings allow them)
    # The report's "Feedback drift" lines for a modality; the CLI passes them in (they need the
    # services layer, above this one); None: no such section.
    feedback_drift: Callable[[Database, Modality], list[str]] | None = None


@dataclass(frozen=True)
class VersionRef:
    """A version a generator can serve: its name and adapter folder (None: the base model)."""

    name: str
    adapter_path: Path | None


BASE = VersionRef(BASE_VERSION, None)


def served_version(version: ModelVersion | None) -> VersionRef:
    """A registered version row (`feedback_db.schema.ModelVersion`) as a VersionRef; None or a row
    without an adapter is the base model."""
    return VersionRef(version.name, Path(version.adapter_path)) if version and version.adapter_path else BASE


def candidate_version(name: str, adapter: Path) -> VersionRef:
    """The version under evaluation, served under a name distinct from every published one (the
    final name is registered only if the run publishes)."""
    return VersionRef(f"{CANDIDATE_PREFIX}{name}", adapter)


class ModalityTrainer(ABC):
    """Train an adapter on feedback, then compare it with its parent through the serving generator."""

    modality: ClassVar[Modality]

    def __init__(self, settings: Settings, options: RetrainOptions):
        self.settings, self.options = settings, options

    # -- what each modality supplies ---------------------------------------------------------

    @abstractmethod
    def train(self, datasets: FeedbackDatasets, out_dir: Path, parent: VersionRef) -> TrainResult: ...

    @abstractmethod
    def scorer(self, version: VersionRef) -> Scorer:
        """Held-out rows scored under `version` (higher = the version finds the row more likely)."""

    @abstractmethod
    def sample(self, version: VersionRef, prompts: Sequence[str]) -> list[tuple[str, Any]]:
        """(prompt, output) samples of `version` on `prompts`, with fixed seeds."""

    @abstractmethod
    def features(self, outputs: Sequence[Any]) -> list[dict[str, float]]:
        """Automatic per-output measurements (length, brightness...) for the behaviour scorer."""

    @abstractmethod
    def summary(self, outputs: Sequence[Any]) -> dict[str, float]:
        """Automatic metrics of a set of outputs, for the report."""

    @abstractmethod
    def serve(self, version: VersionRef) -> None:
        """Switch the serving generator to `version`."""

    @abstractmethod
    def measure_capability(self, version: VersionRef) -> dict[str, float]:
        """`version`'s figures on the capability set (higher is better; playground/retrain/capability.py)."""

    @abstractmethod
    def capability_fingerprint(self) -> str:
        """What the base model's capability figures depend on (model, set, how they are measured)."""

    @abstractmethod
    def capability_set_name(self) -> str: ...

    @abstractmethod
    def capability_items(self) -> int: ...

    # -- shared steps --------------------------------------------------------------------------

    def config_overrides(self) -> dict[str, Any]:
        """The run's overrides of the trainer config, with `--max-steps` as `max_steps`."""
        overrides = dict(self.options.train_overrides)
        if self.options.max_steps:
            overrides["max_steps"] = self.options.max_steps
        return overrides

    def evaluate(self, datasets: FeedbackDatasets, parent: VersionRef, candidate: VersionRef) -> Evaluation:
        """The gate: both versions score the held-out feedback; see `models.finetune.evaluate`."""
        try:
            return evaluate_heldout(datasets, self.scorer(parent), self.scorer(candidate), self.options.gate)
        finally:
            self.serve(BASE)

    def compare_behaviour(self, datasets: FeedbackDatasets, parent: VersionRef, candidate: VersionRef) -> BehaviourComparison:
        """Both versions answer held-out prompts with the same seeds; the report's scorer and the
        gate's judge (both fitted on the ratings) score the answers."""
        try:
            samples = self.sample_both(datasets.heldout_prompts[: self.options.eval_generation_prompts], parent, candidate)
        finally:
            self.serve(BASE)
        comparison = compare_behaviour(datasets, samples, self.features, self.summary, self.load_rated_output)
        judge, comparison.answers = judge_answers(datasets, samples, self.represent, self.load_rated_output, self.options.gate)
        comparison.judge = judge.summary() if judge else {"accepted": False, "reason": "no training pairs to fit a judge on"}
        return comparison

    def sample_both(self, prompts: Sequence[str], parent: VersionRef, candidate: VersionRef) -> dict[str, list[tuple[str, Any]]]:
        """The active version answers prompts one by one until half the sampling budget is spent;
        the candidate then answers the same prompts (same seeds)."""
        budget, started = self.sampling_budget_s(), time.perf_counter()
        old: list[tuple[str, Any]] = []
        answered: list[str] = []
        for prompt in prompts:
            if answered and time.perf_counter() - started > budget / 2:
                break
            old += self.sample(parent, [prompt])
            answered.append(prompt)
        return {"old": old, "new": self.sample(candidate, answered) if answered else []}

    def sampling_budget_s(self) -> float:
        if self.options.sampling_budget_s is not None:
            return self.options.sampling_budget_s
        return GPU_SAMPLING_BUDGET_S if self.on_gpu() else CPU_SAMPLING_BUDGET_S

    def on_gpu(self) -> bool:
        return False

    def represent(self, outputs: Sequence[Any]) -> np.ndarray:
        """Vectors the judge compares outputs by (default: the behaviour features)."""
        rows = self.features(outputs)
        names = sorted(rows[0]) if rows else []
        return np.array([[float(row.get(name, 0.0)) for name in names] for row in rows], dtype=float)

    def load_rated_output(self, completion: str) -> Any:
        """A rated output as `features` takes it (text as is; images load their file)."""
        return completion
