"""LoRA adapters for a diffusion pipeline's denoiser (UNet or transformer), through diffusers' peft
integration. The format `save_adapter` writes is the one `DiffusersImageGenerator.use_version`
loads: a folder with `pytorch_lora_weights.safetensors` whose metadata holds the LoraConfig.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from models.base import ModelLoadError

ATTENTION_MODULES = ("to_q", "to_k", "to_v", "to_out.0")
WEIGHT_NAME = "pytorch_lora_weights.safetensors"


def denoiser_of(pipe: Any) -> Any:
    """The pipeline's denoising network: `unet` for UNet pipelines, `transformer` for DiT ones."""
    for name in ("unet", "transformer"):
        if getattr(pipe, name, None) is not None:
            return getattr(pipe, name)
    raise ModelLoadError(f"{type(pipe).__name__} has neither a unet nor a transformer to adapt")


def add_adapter(denoiser: Any, adapter_name: str = "default", rank: int = 8, alpha: int | None = None) -> None:
    """Attach a fresh, trainable LoRA on the attention projections and make it the active one."""
    from peft import LoraConfig

    config = LoraConfig(
        r=rank,
        lora_alpha=alpha or rank,
        init_lora_weights="gaussian",
        target_modules=list(ATTENTION_MODULES),
    )
    denoiser.add_adapter(config, adapter_name=adapter_name)
    denoiser.set_adapters([adapter_name])


def save_adapter(denoiser: Any, out_dir: Path, adapter_name: str = "default") -> Path:
    """Save one adapter's weights (not the base) to `out_dir`; returns the folder."""
    if adapter_name not in getattr(denoiser, "peft_config", {}):
        raise ModelLoadError(f"the model has no adapter named {adapter_name!r}")
    out_dir = Path(out_dir)
    denoiser.save_lora_adapter(str(out_dir), adapter_name=adapter_name, upcast_before_saving=True, weight_name=WEIGHT_NAME)
    return out_dir


def load_adapter(denoiser: Any, adapter_dir: Path, adapter_name: str) -> None:
    """Load an adapter folder written by `save_adapter` under `adapter_name` (not activated)."""
    weights = Path(adapter_dir) / WEIGHT_NAME
    if not weights.is_file():
        raise ModelLoadError(f"no LoRA adapter at {adapter_dir} (expected {WEIGHT_NAME})")
    try:
        # Keys carry no "unet."/"transformer." prefix: they are the denoiser's own module names.
        denoiser.load_lora_adapter(str(adapter_dir), prefix=None, adapter_name=adapter_name, weight_name=WEIGHT_NAME)
    except (ValueError, KeyError, RuntimeError, OSError) as exc:
        raise ModelLoadError(f"could not load the LoRA adapter at {adapter_dir}: {exc}") from exc
