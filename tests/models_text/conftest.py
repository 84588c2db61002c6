"""Shared text models for the session: the embedded SmolLM2 (converted once into a session tmp
dir) and a tiny randomly initialised Llama with the same tokenizer, for fast mechanics tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from models.embedded_text import GGUF_FILE, embedded_text_model_dir, gguf_folder
from models.text_hf import HFTextGenerator


@pytest.fixture(scope="session")
def text_cache_dir(model_cache_dir: Path) -> Path:
    embedded_text_model_dir(model_cache_dir)  # the one GGUF conversion of the session (~20-30 s)
    return model_cache_dir


@pytest.fixture(scope="session")
def embedded_generator(real_text_generator) -> HFTextGenerator:
    """The suite's one SmolLM2 instance (shared with the app and retrain tests)."""
    return real_text_generator


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 2-layer Llama with random weights and SmolLM2's tokenizer and chat template.

    The tokenizer is read from the GGUF file itself (~6 s), not from the converted model
    (~25 s), so the fast lane never dequantizes the embedded model: the conversion writes
    this same tokenizer."""
    import torch
    from transformers import AutoTokenizer, LlamaConfig, LlamaForCausalLM

    tokenizer = AutoTokenizer.from_pretrained(gguf_folder(), gguf_file=GGUF_FILE)
    config = LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=2,
        num_key_value_heads=2,
        max_position_embeddings=256,  # small, so the context check is easy to reach
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
        tie_word_embeddings=True,
    )
    torch.manual_seed(0)
    folder = tmp_path_factory.mktemp("tiny-llama")
    LlamaForCausalLM(config).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


@pytest.fixture(scope="session")
def tiny_generator(tiny_model_dir: Path) -> HFTextGenerator:
    generator = HFTextGenerator(str(tiny_model_dir), "cpu")
    generator.load()
    return generator


def save_random_lora(model_dir: Path, out_dir: Path, seed: int = 0) -> Path:
    """Save a peft LoRA for the model in `model_dir` with random, non-zero weights, as the
    retrain code will (get_peft_model + save_pretrained). Loads its own copy of the model so
    the shared generators stay untouched."""
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    torch.manual_seed(seed)
    base = AutoModelForCausalLM.from_pretrained(model_dir)
    # init_lora_weights=False draws B at random too (the default zeros it: a no-op adapter).
    config = LoraConfig(r=8, lora_alpha=16, target_modules="all-linear", init_lora_weights=False)
    get_peft_model(base, config).save_pretrained(out_dir)
    return out_dir
