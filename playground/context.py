"""What every handler needs, built once at start-up and passed down: settings, database, models.

Generators come from factories so tests can hand in small fakes; the defaults load the shared
per-process instances from `models.registry` on first use. Before each request the served model
version is synchronised with the database, which is how a version promoted by `playground
retrain` reaches the running app between requests, with no restart.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from feedback_db.versions import active_version
from models.base import ImageGenerator, TextGenerator
from playground.database import Database
from playground.settings import Settings

BASE_VERSION = "base"


@dataclass(frozen=True)
class ServedVersion:
    """The model version answering a request, with its learned sampling defaults."""

    name: str
    sampling_defaults: dict[str, Any]


@dataclass
class AppContext:
    settings: Settings
    database: Database
    text_factory: Callable[[], TextGenerator]
    image_factory: Callable[[], ImageGenerator]
    # Stop buttons set these, keyed by browser session; generation checks them per step.
    _cancel_events: dict[str, threading.Event] = field(default_factory=dict)
    _sync_lock: threading.Lock = field(default_factory=threading.Lock)

    @classmethod
    def from_settings(cls, settings: Settings, database: Database) -> AppContext:
        from models.registry import load_image_generator, load_text_generator

        return cls(
            settings=settings,
            database=database,
            text_factory=lambda: load_text_generator(
                settings.text_model, settings.device, settings.model_cache_dir
            ),
            image_factory=lambda: load_image_generator(settings.image_model, settings.device),
        )

    def generator(self, modality: str) -> TextGenerator | ImageGenerator:
        return self.text_factory() if modality == "text" else self.image_factory()

    def serve_active_version(self, modality: str) -> tuple[TextGenerator | ImageGenerator, ServedVersion]:
        """Return the generator for `modality`, switched to the version the database marks active."""
        generator = self.generator(modality)
        with self.database.read_sessions() as session:
            active = active_version(session, modality=modality)
            wanted = active.name if active is not None else BASE_VERSION
            adapter = Path(active.adapter_path) if active is not None and active.adapter_path else None
            defaults = dict(active.sampling_defaults) if active is not None else {}
        with self._sync_lock:
            if generator.model_version != wanted:
                generator.use_version(wanted, adapter)
            _unload_all_but(generator, wanted)
        return generator, ServedVersion(name=wanted, sampling_defaults=defaults)

    def sampling_defaults(self, modality: str) -> dict[str, Any]:
        """Default sampling settings learned for the active version (empty for the base model)."""
        with self.database.read_sessions() as session:
            active = active_version(session, modality=modality)
            return dict(active.sampling_defaults) if active is not None else {}

    def cancel_event(self, browser_session: str) -> threading.Event:
        return self._cancel_events.setdefault(browser_session, threading.Event())

    def model_spec(self, modality: str) -> str:
        return self.settings.text_model if modality == "text" else self.settings.image_model


def _unload_all_but(generator: TextGenerator | ImageGenerator, served: str) -> None:
    """Free the adapters of versions no longer served (retired, or candidates someone loaded), so
    memory stays flat across promotions. Generators without adapters have nothing to unload."""
    for version in list(getattr(generator, "loaded_versions", ())):
        if version not in (BASE_VERSION, served):
            generator.unload_version(version)
