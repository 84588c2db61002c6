"""Train a LoRA adapter for a causal LM on feedback with TRL: DPO, KTO or SFT.

The method rule (docs/RETRAIN.md): DPO when there are at least `min_pairs` preference pairs;
else KTO when both desirable and undesirable examples exist; else SFT on top-rated outputs.

Training continues from the active version: its adapter is loaded trainable, and TRL keeps a
frozen copy of it as the reference model ("ref" adapter), so one model sits in memory and the
new version is anchored to the one it must beat. Without an active adapter a fresh LoRA is
created and the reference is the base model (adapter disabled).
"""

from __future__ import annotations

import logging
import shutil
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from models.base import ModelError
from models.finetune.data import FeedbackDatasets

if TYPE_CHECKING:
    from peft import PeftModel
    from transformers import Trainer

log = logging.getLogger(__name__)
TRAINER_STATE = "trainer-state"


class NotEnoughDataError(ModelError):
    """There is too little feedback of any usable kind to train on."""


@dataclass(frozen=True)
class TextTrainConfig:
    """Sizes for a CPU run on the embedded model; `for_device` gives GPU-sized settings."""

    min_pairs: int = 16  # fewer pairs than this: KTO or SFT instead of DPO
    lora_r: int = 8
    lora_alpha: int = 16
    lora_dropout: float = 0.0
    target_modules: str | list[str] = "all-linear"
    learning_rate: float = 5e-4
    beta: float = 0.1  # DPO/KTO: how far the new version may move from the reference
    epochs: float = 2.0
    max_steps: int = -1  # > 0 caps the run (tests use a few steps)
    batch_size: int = 4
    gradient_accumulation_steps: int = 1
    max_length: int = 192  # prompt + completion tokens; longer rows are truncated
    bf16: bool = False
    # Recomputing activations saves GPU memory but costs ~30% more time; small CPU runs skip it.
    gradient_checkpointing: bool = False
    seed: int = 0
    extra: dict[str, Any] = field(default_factory=dict)  # passed to the TRL config as is

    @classmethod
    def for_device(cls, is_cuda: bool, **overrides: Any) -> TextTrainConfig:
        if is_cuda:  # real models on a GPU: bigger batches, longer rows, bf16
            defaults = {
                "batch_size": 8,
                "max_length": 1024,
                "bf16": True,
                "learning_rate": 2e-4,
                "lora_r": 16,
                "lora_alpha": 32,
                "gradient_checkpointing": True,
            }
            return cls(**{**defaults, **overrides})
        return cls(**overrides)


@dataclass
class TrainResult:
    method: str
    adapter_dir: Path
    examples: int
    steps: int
    seconds: float
    train_loss: float | None
    config: dict[str, Any]


def choose_method(datasets: FeedbackDatasets, config: TextTrainConfig) -> str:
    """DPO with enough pairs, else KTO with both labels, else SFT; raise if none applies."""
    labels = {row["label"] for row in datasets.unpaired}
    if len(datasets.pairs) >= config.min_pairs:
        return "dpo"
    if labels == {True, False}:
        return "kto"
    if datasets.sft:
        return "sft"
    raise NotEnoughDataError(
        f"{len(datasets.pairs)} pairs (need {config.min_pairs}), "
        f"{len(datasets.unpaired)} labelled outputs (need both labels), no top-rated outputs"
    )


def _conversation(prompt: str) -> list[dict[str, str]]:
    return [{"role": "user", "content": prompt}]


def _assistant(text: str) -> list[dict[str, str]]:
    return [{"role": "assistant", "content": text}]


def trl_rows(method: str, datasets: FeedbackDatasets) -> list[dict[str, Any]]:
    """Rows in TRL's conversational formats, so training sees the chat template generation uses."""
    if method == "dpo":
        return [
            {"prompt": _conversation(r["prompt"]), "chosen": _assistant(r["chosen"]), "rejected": _assistant(r["rejected"])}
            for r in datasets.pairs
        ]
    if method == "kto":
        return [
            {"prompt": _conversation(r["prompt"]), "completion": _assistant(r["completion"]), "label": r["label"]}
            for r in datasets.unpaired
        ]
    return [{"prompt": _conversation(r["prompt"]), "completion": _assistant(r["completion"])} for r in datasets.sft]


def kto_class_weights(rows: list[dict[str, Any]]) -> tuple[float, float]:
    """Weights that bring desirable:undesirable (after weighting) into TRL's 1:1 - 4:3 range."""
    desirable = sum(1 for r in rows if r["label"])
    undesirable = len(rows) - desirable
    if desirable == 0 or undesirable == 0:
        return 1.0, 1.0
    # Weigh the rarer class up so both contribute equally.
    return (1.0, desirable / undesirable) if desirable >= undesirable else (undesirable / desirable, 1.0)


def train_text_adapter(
    model: Any,
    tokenizer: Any,
    datasets: FeedbackDatasets,
    out_dir: Path,
    config: TextTrainConfig,
    active_adapter: Path | None = None,
) -> TrainResult:
    """Train on `datasets` and save the adapter into the folder `out_dir`."""
    from datasets import Dataset

    # 1. Pick the method and build its rows.
    method = choose_method(datasets, config)
    rows = trl_rows(method, datasets)
    # 2. The model to train: the active version's adapter (trainable), or a fresh LoRA.
    model, peft_config = _trainable(model, active_adapter, config)
    # 3. Train with TRL.
    trainer = _trainer(method, model, tokenizer, Dataset.from_list(rows), peft_config, config, out_dir, rows)
    started = time.perf_counter()
    output = trainer.train()
    seconds = time.perf_counter() - started
    # 4. Save only the trained adapter (not TRL's "ref" copy); with several processes
    #    (`accelerate launch`) every one holds the same weights and the main one alone writes.
    if trainer.accelerator.is_main_process:
        # TRL trains a PeftModel: the active adapter loaded trainable, or the model wrapped with peft_config.
        cast("PeftModel", trainer.model).save_pretrained(str(out_dir), selected_adapters=["default"])
        tokenizer.save_pretrained(str(out_dir))
        shutil.rmtree(out_dir / TRAINER_STATE, ignore_errors=True)
    log.info("trained %s on %d rows in %.0f s", method, len(rows), seconds)
    return TrainResult(
        method=method,
        adapter_dir=out_dir,
        examples=len(rows),
        steps=int(output.global_step),
        seconds=seconds,
        train_loss=float(output.training_loss) if output.training_loss is not None else None,
        config=asdict(config),
    )


def _trainable(model: Any, active_adapter: Path | None, config: TextTrainConfig) -> tuple[Any, Any]:
    from peft import LoraConfig, PeftModel

    if active_adapter is not None:
        return PeftModel.from_pretrained(model, str(active_adapter), is_trainable=True), None
    peft_config = LoraConfig(
        r=config.lora_r,
        lora_alpha=config.lora_alpha,
        lora_dropout=config.lora_dropout,
        target_modules=config.target_modules,
        task_type="CAUSAL_LM",
    )
    return model, peft_config


def _common_args(config: TextTrainConfig, out_dir: Path) -> dict[str, Any]:
    return {
        # Trainer state goes inside the (temporary) adapter folder and is removed after saving.
        "output_dir": str(out_dir / TRAINER_STATE),
        "learning_rate": config.learning_rate,
        "num_train_epochs": config.epochs,
        "max_steps": config.max_steps,
        "per_device_train_batch_size": config.batch_size,
        "gradient_accumulation_steps": config.gradient_accumulation_steps,
        "max_length": config.max_length,
        "bf16": config.bf16,
        "gradient_checkpointing": config.gradient_checkpointing,
        "use_cpu": not config.bf16 and not _cuda_available(),
        "seed": config.seed,
        "logging_steps": 5,
        "save_strategy": "no",
        "report_to": [],
        "disable_tqdm": False,
        "dataloader_num_workers": 0,
        "lr_scheduler_type": "cosine",
        "warmup_steps": 2,
        **config.extra,
    }


def _cuda_available() -> bool:
    import torch

    return torch.cuda.is_available()


def _trainer(
    method: str,
    model: Any,
    tokenizer: Any,
    dataset: Any,  # a datasets.Dataset (the datasets library is untyped)
    peft_config: Any,
    config: TextTrainConfig,
    out_dir: Path,
    rows: list[dict[str, Any]],
) -> Trainer:
    from trl import DPOConfig, DPOTrainer, KTOConfig, KTOTrainer, SFTConfig, SFTTrainer

    common = _common_args(config, out_dir)
    if method == "dpo":
        dpo_args = DPOConfig(**common, beta=config.beta)
        return DPOTrainer(model=model, args=dpo_args, train_dataset=dataset, processing_class=tokenizer, peft_config=peft_config)
    if method == "kto":
        desirable, undesirable = kto_class_weights(rows)
        kto_args = KTOConfig(**common, beta=config.beta, desirable_weight=desirable, undesirable_weight=undesirable)
        return KTOTrainer(model=model, args=kto_args, train_dataset=dataset, processing_class=tokenizer, peft_config=peft_config)
    sft_args = SFTConfig(**common)
    return SFTTrainer(model=model, args=sft_args, train_dataset=dataset, processing_class=tokenizer, peft_config=peft_config)
