"""Pick the torch device and dtype for a model: CUDA with bf16/fp16 where present, else CPU fp32."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from models.base import ModelLoadError

if TYPE_CHECKING:
    import torch


@dataclass(frozen=True)
class DevicePlacement:
    device: torch.device
    dtype: torch.dtype

    @property
    def is_cuda(self) -> bool:
        return self.device.type == "cuda"


def resolve_device(name: str = "auto") -> DevicePlacement:
    """Map "auto" | "cpu" | "cuda" | "cuda:N" to a device and the dtype to run models in.

    CPU runs fp32 because half precision on CPU is slow or unsupported for many kernels;
    CUDA prefers bf16 (same range as fp32, so no overflow) and falls back to fp16 on GPUs
    without bf16 support.
    """
    import torch

    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    if name == "cpu":
        return DevicePlacement(torch.device("cpu"), torch.float32)
    if name.startswith("cuda"):
        if not torch.cuda.is_available():
            raise ModelLoadError(f"device {name!r} was asked for but CUDA is not available")
        dtype = torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
        return DevicePlacement(torch.device(name), dtype)
    raise ModelLoadError(f"unknown device {name!r}: use auto, cpu, cuda or cuda:N")


def to_device(model: torch.nn.Module, device: torch.device) -> torch.nn.Module:
    """`model.to(device)` (which returns the model), typed as `torch.nn.Module.to`: transformers
    wraps `PreTrainedModel.to` in functools.wraps, which the checker does not bind as a method.
    The call still runs transformers' own `to`."""
    return model.to(device)
