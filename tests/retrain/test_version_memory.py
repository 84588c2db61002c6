"""Retired versions are unloaded: after 10 promote/retire cycles the app's generators hold only
the base and the active version, and the process's memory is flat (within noise).

The app syncs versions in `AppContext.serving` (before every generation): the
promoted version is loaded, and every other version's adapter is freed. Text uses the embedded
SmolLM2 with LoRA r=8 on all linear layers (~9 MB each: ten of them kept would add ~90 MB).
"""

from __future__ import annotations

import gc
import os
from pathlib import Path

import pytest

from feedback_db.versions import create_version, promote_version
from models.base import ImageParams, TextParams
from playground.core.database import open_database
from playground.core.settings import Settings
from playground.serving.context import build_context

pytestmark = pytest.mark.real_model
CYCLES = 10


def rss_mb() -> float:
    with open(f"/proc/{os.getpid()}/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def text_adapters(cache_dir: Path, out: Path, count: int, scale: float = 0.01) -> list[Path]:
    """`count` distinct LoRA adapters for the embedded text model (random, non-zero weights of
    about `scale`: 0.01 barely changes a short answer, 0.05 changes it visibly)."""
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    from models.embedded_text import embedded_text_model_dir

    model = get_peft_model(
        AutoModelForCausalLM.from_pretrained(embedded_text_model_dir(cache_dir)),
        LoraConfig(r=8, lora_alpha=16, target_modules="all-linear", task_type="CAUSAL_LM"),
    )
    folders = []
    for k in range(count):
        generator = torch.Generator().manual_seed(k)
        with torch.no_grad():
            for name, parameter in model.named_parameters():
                if "lora_" in name:
                    parameter.copy_(torch.randn(parameter.shape, generator=generator) * scale)
        model.save_pretrained(out / f"text-v{k + 1}")
        folders.append(out / f"text-v{k + 1}")
    del model
    gc.collect()
    return folders


def image_adapters(pipe, out: Path, count: int) -> list[Path]:
    from models.embedded_image.lora import add_adapter, denoiser_of, save_adapter

    served = denoiser_of(pipe)
    copy = type(served).from_config(served.config)
    add_adapter(copy)
    return [save_adapter(copy, out / f"image-v{k + 1}") for k in range(count)]


def promote(database, modality: str, name: str, adapter: Path) -> None:
    with database.sessions.begin() as session:
        version = create_version(session, name=name, modality=modality, base_model="embedded", adapter_path=str(adapter))
        promote_version(session, version_id=version.id)


@pytest.mark.long
def test_ten_promotions_keep_adapters_and_memory_flat(tmp_path, model_cache_dir, real_text_generator, real_image_generator):
    settings = Settings(data_dir=tmp_path / "data", device="cpu", model_cache=model_cache_dir)
    database = open_database(settings)
    context = build_context(settings, database, text_factory=lambda: real_text_generator, image_factory=lambda: real_image_generator)
    texts = text_adapters(model_cache_dir, tmp_path / "adapters", CYCLES)
    images = image_adapters(real_image_generator.pipeline, tmp_path / "adapters", CYCLES)
    # Versions other tests left loaded are unloaded on the first sync, like stale ones in the app.
    for modality in ("text", "image"):
        with context.serving(modality):
            pass
    memory = []
    for k in range(CYCLES):
        # 1. Retrain promotes a new version (the previous one is retired)...
        promote(database, "text", f"text-v{k + 1}", texts[k])
        promote(database, "image", f"image-v{k + 1}", images[k])
        # 2. ...and the app's next requests serve it.
        with context.serving("text") as (text, served):
            assert served.name == f"text-v{k + 1}" and text.generate("Say hi.", TextParams(max_new_tokens=4, temperature=0))
        with context.serving("image") as (image, served):
            assert served.name == f"image-v{k + 1}" and image.generate("a red circle", ImageParams(steps=2, n=1), tmp_path / "img")
        # 3. Only the base and the active version stay loaded.
        assert text.loaded_versions == ["base", f"text-v{k + 1}"]
        assert image.loaded_versions == ["base", f"image-v{k + 1}"]
        assert len(real_text_generator.model.peft_config) == 1
        gc.collect()
        memory.append(rss_mb())
    print("RSS after each promotion (MB): " + ", ".join(f"{m:.0f}" for m in memory))
    # Ten text adapters kept would add ~70 MB between the 3rd promotion and the 10th.
    assert memory[-1] - memory[2] < 25, memory
    # An unloaded version can be served again (it is loaded again).
    real_text_generator.use_version("text-v1", texts[0])
    real_text_generator.use_version("base", None)
    assert real_text_generator.unload_version("text-v1") and not real_text_generator.unload_version("text-v1")
