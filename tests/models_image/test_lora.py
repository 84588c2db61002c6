"""LoRA on the UNet's attention: it trains, changes outputs, saves and loads; the base is untouched."""

from __future__ import annotations

import numpy as np
import torch

from models.embedded_image.lora import add_adapter, load_adapter, save_adapter
from models.embedded_image.pipeline import EmbeddedImagePipeline, build_scheduler
from tests.models_image.conftest import tiny_unet

PROMPT = "a small blue square at the bottom right on a beige background"


def sample(pipe) -> np.ndarray:
    return pipe(PROMPT, num_inference_steps=3, generator=[torch.Generator().manual_seed(0)], output_type="np").images


def test_lora_trains_changes_outputs_and_leaves_base_weights(tiny_pipe, tmp_path) -> None:
    # 1. A private pipeline sharing the session's text encoder (the UNet is what gets adapted).
    pipe = EmbeddedImagePipeline(tiny_unet(), build_scheduler(), tiny_pipe.text_encoder, tiny_pipe.tokenizer)
    pipe.set_progress_bar_config(disable=True)
    before = sample(pipe)
    base = {k: v.clone() for k, v in pipe.unet.state_dict().items()}
    # 2. Attach: only LoRA parameters train.
    add_adapter(pipe.unet, "tuned", rank=4)
    trainable = {n for n, p in pipe.unet.named_parameters() if p.requires_grad}
    assert trainable and all("lora_" in n for n in trainable)
    assert any(".to_q." in n for n in trainable) and any(".to_out.0." in n for n in trainable)
    # 3. A few optimizer steps on a denoising loss.
    optimizer = torch.optim.AdamW([p for p in pipe.unet.parameters() if p.requires_grad], lr=1e-2)
    hidden, mask, pooled = pipe.encode_prompt([PROMPT] * 4)
    for _ in range(5):
        x = torch.randn(4, 3, 32, 32)
        t = torch.randint(0, 1000, (4,))
        out = pipe.unet(x, t, encoder_hidden_states=hidden, class_labels=pooled, encoder_attention_mask=mask).sample
        loss = (out - x).pow(2).mean()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    pipe.unet.eval()
    adapted = sample(pipe)
    assert not np.allclose(before, adapted, atol=1e-4)
    # 4. Base weights did not move; disabling the adapter restores the base outputs.
    for name, value in pipe.unet.state_dict().items():
        if "lora_" not in name:
            assert torch.equal(value, base[name.replace(".base_layer", "")]), name
    pipe.unet.disable_adapters()
    np.testing.assert_allclose(sample(pipe), before, atol=1e-6)
    pipe.unet.enable_adapters()
    # 5. Save and load into a fresh copy of the base: same outputs as the trained adapter.
    save_adapter(pipe.unet, tmp_path / "adapter", "tuned")
    fresh = EmbeddedImagePipeline(tiny_unet(), build_scheduler(), tiny_pipe.text_encoder, tiny_pipe.tokenizer)
    fresh.set_progress_bar_config(disable=True)
    load_adapter(fresh.unet, tmp_path / "adapter", "loaded")
    fresh.unet.set_adapters(["loaded"])
    np.testing.assert_allclose(sample(fresh), adapted, atol=1e-5)
