"""Distinct LoRA adapters for the embedded text model, made in seconds instead of trained: the
shape a personal version has (r=8, alpha 16, every linear layer: models/finetune/text.py) with
seeded random weights, large enough that each one changes greedy and seeded answers visibly.

Used by the engine test that serves several personal adapters at once and by
tests/benchmarks/bench_personal_adapters.py; both need adapters whose answers tell them apart,
which zero-initialised B weights (peft's default) would not give.
"""

from __future__ import annotations

import gc
from collections.abc import Sequence
from pathlib import Path

# The random weights' standard deviation: 0.01 (as tests/retrain/test_version_memory.py uses)
# barely moves SmolLM2's logits, and at 0.04 one adapter in four still gave the base model's first
# 10 tokens; 0.06 changed every answer within its first 5 tokens, still in English (0.08: word salad).
WEIGHT_STD = 0.06


def random_text_adapters(model_dir: Path, out: Path, names: Sequence[str], std: float = WEIGHT_STD) -> list[Path]:
    """One adapter folder per name under `out` (the folder named like the version), adapter k
    seeded with k: the same names give the same weights in every run."""
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    model = get_peft_model(
        AutoModelForCausalLM.from_pretrained(model_dir),
        LoraConfig(r=8, lora_alpha=16, target_modules="all-linear", task_type="CAUSAL_LM"),
    )
    folders = []
    for k, name in enumerate(names):
        generator = torch.Generator().manual_seed(k)
        with torch.no_grad():
            for parameter_name, parameter in model.named_parameters():
                if "lora_" in parameter_name:
                    parameter.copy_(torch.randn(parameter.shape, generator=generator) * std)
        model.save_pretrained(out / name)
        folders.append(out / name)
    del model
    gc.collect()
    return folders
