"""The image backend: any diffusers text-to-image pipeline behind `models.base.ImageGenerator`.

The model spec is "embedded" (the small model shipped in assets/embedded-image) or a diffusers
hub id / local folder (e.g. "stabilityai/sd-turbo" on a GPU). The pipeline loads lazily on first
use; `models.registry.load_image_generator` hands out one instance per (model, device) per
process, and each instance's lock serialises generation and version switches so concurrent
requests never interleave.

Sizes: hub models generate natively at width x height. The embedded model always generates
32x32 pixels; width and height only set the displayed size it is upsampled to (bicubic), so a
non-square size stretches it.

Cancellation: setting `cancel` stops after the current denoising step. `generate` does not raise;
it returns the images as far as they got (the embedded model returns its latest estimate of the
clean image), saved like any other, with finish_reason "cancelled".
"""

from __future__ import annotations

import hashlib
import io
import json
import random
import re
import threading
import time
from pathlib import Path
from typing import Any

from models.base import (
    BASE_VERSION,
    FinishReason,
    ImageOutput,
    ImageParams,
    ImageVocabulary,
    InvalidParameterError,
    ModelLoadError,
    StepCallback,
    UnknownVersionError,
    check_prompt,
)
from models.devices import DevicePlacement, resolve_device

EMBEDDED = "embedded"
EMBEDDED_ASSETS = Path(__file__).resolve().parents[1] / "assets" / "embedded-image"
MAX_PROMPT_CHARS = 2000


class DiffusersImageGenerator:
    """Text-to-image with seeds, step progress, cancellation and LoRA versions."""

    def __init__(self, model: str = EMBEDDED, device: str = "auto") -> None:
        self.model = model
        self.device_name = device
        self.model_version = BASE_VERSION
        self.max_prompt_chars = MAX_PROMPT_CHARS
        self._pipe: Any = None
        self._placement: DevicePlacement | None = None
        self._adapters: dict[str, Path] = {}  # version id -> adapter folder loaded into the denoiser
        self._lock = threading.Lock()

    @property
    def is_embedded(self) -> bool:
        return self.model == EMBEDDED

    @property
    def is_loaded(self) -> bool:
        return self._pipe is not None

    def load(self) -> None:
        """Load the pipeline now (otherwise the first request does)."""
        with self._lock:
            self._ensure_loaded()

    def vocabulary(self) -> ImageVocabulary | None:
        """The embedded model's words (it knows nothing else); None for a general model."""
        if not self.is_embedded:
            return None
        from models.embedded_image.scenes import vocabulary

        return vocabulary()

    @property
    def pipeline(self) -> Any:
        """The loaded diffusers pipeline (loads it on first access)."""
        with self._lock:
            return self._ensure_loaded()

    def _ensure_loaded(self) -> Any:
        """Load the pipeline once; the caller holds the lock."""
        if self._pipe is not None:
            return self._pipe
        # 1. Device and dtype (fp32 on CPU, bf16/fp16 on CUDA).
        placement = resolve_device(self.device_name)
        # 2. The embedded pipeline from assets, or any diffusers pipeline by id or path.
        try:
            if self.is_embedded:
                from models.embedded_image.pipeline import EmbeddedImagePipeline

                if not (EMBEDDED_ASSETS / "model_index.json").is_file():
                    raise ModelLoadError(f"the embedded image model is missing from {EMBEDDED_ASSETS}")
                pipe = EmbeddedImagePipeline.from_pretrained(EMBEDDED_ASSETS, dtype=placement.dtype)
            else:
                from diffusers import DiffusionPipeline

                pipe = DiffusionPipeline.from_pretrained(self.model, dtype=placement.dtype)
        except (OSError, ValueError) as exc:
            raise ModelLoadError(f"could not load image model {self.model!r}: {exc}") from exc
        # 3. Place it and silence tqdm (progress goes through on_step).
        pipe.to(placement.device)
        pipe.set_progress_bar_config(disable=True)
        self._pipe, self._placement = pipe, placement
        return pipe

    # ---- generation -------------------------------------------------------------------------

    def generate(
        self,
        prompt: str,
        params: ImageParams,
        out_dir: Path,
        on_step: StepCallback | None = None,
        cancel: threading.Event | None = None,
    ) -> list[ImageOutput]:
        """Generate `params.n` images in one batched call; image i uses seed + i."""
        # 1. Validate before touching the model.
        params = params.validate()
        prompt = check_prompt(prompt, self.max_prompt_chars)
        base_seed = params.seed if params.seed is not None else random.randrange(2**32 - MAX_SEED_SPAN)
        seeds = [base_seed + i for i in range(params.n)]
        out_dir = Path(out_dir)
        out_dir.mkdir(parents=True, exist_ok=True)

        with self._lock:
            # 2. One generator per image, so each image depends on its own seed only.
            pipe = self._ensure_loaded()
            import torch

            generators = [torch.Generator().manual_seed(s) for s in seeds]
            cancelled = threading.Event()
            callback = self._step_callback(params, on_step, cancel, cancelled)
            # 3. The batched pipeline call.
            started = time.perf_counter()
            images = pipe(
                prompt=prompt,
                num_inference_steps=params.steps,
                guidance_scale=params.guidance_scale,
                num_images_per_prompt=params.n,
                generator=generators,
                callback_on_step_end=callback,
                callback_on_step_end_tensor_inputs=[self._preview_tensor],
                **self._size_and_negative_kwargs(params),
            ).images
            latency_ms = (time.perf_counter() - started) * 1000
            version = self.model_version

        # 4. Save each image as a PNG named by its sha256, with provenance in its metadata.
        finish: FinishReason = "cancelled" if cancelled.is_set() else "stop"
        outputs = []
        for i, (image, seed) in enumerate(zip(images, seeds, strict=True)):
            path, digest = save_png(image, out_dir, _png_metadata(prompt, params, seed, self.model, version))
            outputs.append(ImageOutput(i, image, path, digest, seed, latency_ms, finish))
        return outputs

    @property
    def _preview_tensor(self) -> str:
        # The embedded model exposes its clean-image estimate: a meaningful, free preview.
        return "pred_original_sample" if self.is_embedded else "latents"

    def _size_and_negative_kwargs(self, params: ImageParams) -> dict[str, Any]:
        kwargs: dict[str, Any] = {}
        if self.is_embedded:
            kwargs["output_size"] = (params.width, params.height)  # display size; native 32x32
        else:
            kwargs["width"], kwargs["height"] = params.width, params.height
        if params.negative_prompt:
            kwargs["negative_prompt"] = params.negative_prompt
        return kwargs

    def _step_callback(
        self,
        params: ImageParams,
        on_step: StepCallback | None,
        cancel: threading.Event | None,
        cancelled: threading.Event,
    ) -> Any:
        """A diffusers `callback_on_step_end` reporting progress and honouring cancellation."""

        def callback(pipe: Any, step: int, timestep: Any, tensors: dict[str, Any]) -> dict[str, Any]:
            if on_step is not None:
                on_step(step + 1, params.steps, self._previews(tensors, params))
            if cancel is not None and cancel.is_set():
                cancelled.set()
                pipe._interrupt = True  # diffusers pipelines stop their loop on this flag
            return {}

        return callback

    def _previews(self, tensors: dict[str, Any], params: ImageParams) -> list[Any] | None:
        """Cheap previews: the embedded model's clean-image estimate; None for latent models
        (decoding latents with the VAE every step would cost as much as the step)."""
        if not self.is_embedded:
            return None
        from models.embedded_image.pipeline import to_pil

        return to_pil(tensors["pred_original_sample"], (params.width, params.height), "nearest")

    # ---- versions ---------------------------------------------------------------------------

    def use_version(self, version_id: str, adapter_path: Path | None) -> None:
        """Serve `version_id`: "base" disables adapters; others load `adapter_path` once (a LoRA
        folder written by `models.embedded_image.lora.save_adapter`) and switch to it. The base
        weights are never reloaded, and switching waits for a running generation to finish."""
        from models.embedded_image.lora import denoiser_of, load_adapter

        with self._lock:
            denoiser = denoiser_of(self._ensure_loaded())
            # 1. The base model: turn adapters off (they stay loaded for a fast switch back).
            if version_id == BASE_VERSION:
                if self._adapters:
                    denoiser.disable_adapters()
                self.model_version = BASE_VERSION
                return
            # 2. Load the adapter the first time (or again if its folder changed).
            name = _adapter_name(version_id)
            known = self._adapters.get(version_id)
            if adapter_path is None and known is None:
                raise UnknownVersionError(f"version {version_id!r} has no adapter loaded and none was given")
            if adapter_path is not None and known != Path(adapter_path):
                if known is not None:
                    denoiser.delete_adapters(name)
                    del self._adapters[version_id]
                load_adapter(denoiser, Path(adapter_path), name)
                self._adapters[version_id] = Path(adapter_path)
            # 3. Activate it alone.
            denoiser.set_adapters([name])
            denoiser.enable_adapters()
            self.model_version = version_id

    @property
    def loaded_versions(self) -> list[str]:
        return [BASE_VERSION, *self._adapters]

    def unload_version(self, version_id: str) -> bool:
        """Free a loaded version's adapter (e.g. a retired version), so memory stays flat however
        many versions come and go; serving it again loads it again. Unloading the served version
        switches to the base first. Returns whether anything was unloaded."""
        from models.embedded_image.lora import denoiser_of

        with self._lock:
            if version_id not in self._adapters:
                return False
            denoiser = denoiser_of(self._ensure_loaded())
            if self.model_version == version_id:
                denoiser.disable_adapters()
                self.model_version = BASE_VERSION
            denoiser.delete_adapters(_adapter_name(version_id))
            del self._adapters[version_id]
            return True


MAX_SEED_SPAN = 8  # drawn seeds leave room for seed + i to stay below 2**32


def _adapter_name(version_id: str) -> str:
    # peft adapter names become module keys, which may not contain dots.
    if not version_id:
        raise InvalidParameterError("the version id is empty")
    return "v_" + re.sub(r"[^0-9A-Za-z_]", "_", version_id)


def _png_metadata(prompt: str, params: ImageParams, seed: int, model: str, version: str) -> dict[str, str]:
    return {
        "prompt": prompt,
        "negative_prompt": params.negative_prompt,
        "seed": str(seed),
        "model": model,
        "model_version": version,
        "parameters": json.dumps(
            {"steps": params.steps, "guidance_scale": params.guidance_scale, "width": params.width, "height": params.height}
        ),
    }


def save_png(image: Any, out_dir: Path, metadata: dict[str, str]) -> tuple[Path, str]:
    """Write a PNG with text metadata, named by the sha256 of its bytes; returns (path, sha256)."""
    from PIL.PngImagePlugin import PngInfo

    info = PngInfo()
    for key, value in metadata.items():
        info.add_itxt(key, value)  # iTXt: UTF-8, so any prompt survives
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", pnginfo=info)
    data = buffer.getvalue()
    digest = hashlib.sha256(data).hexdigest()
    path = Path(out_dir) / f"{digest}.png"
    if not path.exists():  # same bytes, same name: identical images are stored once
        path.write_bytes(data)
    return path, digest
