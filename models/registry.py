"""Turn a model spec from the settings into a generator, one shared instance per process.

A spec is "embedded" (the model shipped with the project) or a Hugging Face hub id or local
path. Loading a model costs seconds and hundreds of MB, so every caller asking for the same
spec, device (and cache dir) gets the same instance; generators load their weights lazily.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # keep `import models.registry` cheap: no torch until a model is used
    from models.image_diffusers import DiffusersImageGenerator
    from models.text_hf import HFTextGenerator

_lock = threading.Lock()
_text_generators: dict[tuple[str, str, Path], HFTextGenerator] = {}
_image_generators: dict[tuple[str, str], DiffusersImageGenerator] = {}


def load_text_generator(spec: str, device: str, cache_dir: Path) -> HFTextGenerator:
    """Return the process's text generator for `spec` on `device`.

    `cache_dir` (e.g. `<data_dir>/models`) receives the converted copy of the embedded model;
    hub ids use the usual Hugging Face cache. The weights load on first use.
    """
    from models.text_hf import HFTextGenerator

    key = (spec, device, Path(cache_dir).resolve())
    with _lock:
        if key not in _text_generators:
            _text_generators[key] = HFTextGenerator(spec, device, Path(cache_dir))
        return _text_generators[key]


def load_image_generator(spec: str, device: str) -> DiffusersImageGenerator:
    """Return the process's image generator for `spec` ("embedded", a hub id or a path) on `device`."""
    from models.image_diffusers import DiffusersImageGenerator

    key = (spec, device)
    with _lock:
        if key not in _image_generators:
            _image_generators[key] = DiffusersImageGenerator(spec, device)
        return _image_generators[key]
