"""Turn a model spec from the settings into a generator, one shared instance per process.

A text spec is "embedded" (the model shipped with the project), a Hugging Face hub id or local
path, or `openai:<URL>[#MODEL]` for an OpenAI-compatible engine (`models.text_engine`). Loading
a model costs seconds and hundreds of MB, so every caller asking for the same spec, device (and
cache dir) gets the same instance; generators load their weights lazily.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import TYPE_CHECKING

from models.base import ModelLoadError

if TYPE_CHECKING:  # keep `import models.registry` cheap: no torch until a model is used
    from models.image_diffusers import DiffusersImageGenerator
    from models.text_engine import EngineTextGenerator
    from models.text_hf import HFTextGenerator

_lock = threading.Lock()
_text_generators: dict[tuple[str, str, Path], HFTextGenerator] = {}
_engine_generators: dict[str, EngineTextGenerator] = {}
_image_generators: dict[tuple[str, str], DiffusersImageGenerator] = {}


def load_text_generator(spec: str, device: str, cache_dir: Path) -> HFTextGenerator | EngineTextGenerator:
    """Return the process's text generator for `spec` on `device`.

    `cache_dir` (e.g. `<data_dir>/models`) receives the converted copy of the embedded model;
    hub ids use the usual Hugging Face cache. The weights load on first use. An engine spec
    ignores device and cache dir: the engine owns its weights.
    """
    from models.text_engine_spec import is_engine_spec

    if is_engine_spec(spec):
        return load_engine_generator(spec)
    from models.text_hf import HFTextGenerator

    key = (spec, device, Path(cache_dir).resolve())
    with _lock:
        if key not in _text_generators:
            _text_generators[key] = HFTextGenerator(spec, device, Path(cache_dir))
        return _text_generators[key]


def load_local_text_generator(spec: str, device: str, cache_dir: Path) -> HFTextGenerator:
    """The in-process transformers generator for `spec` (retraining needs the weights here)."""
    from models.text_engine_spec import InvalidEngineSpecError, is_engine_spec
    from models.text_hf import HFTextGenerator

    if is_engine_spec(spec):
        raise InvalidEngineSpecError(f"{spec!r} is an engine; this needs a local model (embedded, a hub id or a path)")
    generator = load_text_generator(spec, device, cache_dir)
    if not isinstance(generator, HFTextGenerator):  # a local spec always loads in process
        raise ModelLoadError(f"{spec!r} did not load as an in-process model")
    return generator


def load_engine_generator(spec: str) -> EngineTextGenerator:
    """Return the process's client for the engine spec `openai:<URL>[#MODEL]` (parsed now, so a
    malformed spec fails at once; the engine itself is first asked on `load()`)."""
    from models.text_engine import EngineTextGenerator

    with _lock:
        if spec not in _engine_generators:
            _engine_generators[spec] = EngineTextGenerator(spec)
        return _engine_generators[spec]


def load_image_generator(spec: str, device: str) -> DiffusersImageGenerator:
    """Return the process's image generator for `spec` ("embedded", a hub id or a path) on `device`."""
    from models.image_diffusers import DiffusersImageGenerator

    key = (spec, device)
    with _lock:
        if key not in _image_generators:
            _image_generators[key] = DiffusersImageGenerator(spec, device)
        return _image_generators[key]
