"""What every handler needs, built once at start-up and passed down: settings, database, models.

Generators come from factories so tests can hand in small fakes; the defaults load the shared
per-process instances from `models.registry` on first use. Before each request the served model
version is synchronised with the database, which is how a version promoted by `playground
retrain` reaches the running app between requests, with no restart.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from feedback_db.errors import UnknownIdError
from feedback_db.versions import active_version, version_by_name
from models.base import BASE_VERSION, ImageGenerator, TextGenerator, check_modality
from playground.database import Database
from playground.errors import PlaygroundError
from playground.limits import GenerationLimits, LoginThrottle, SlidingWindow
from playground.moderation import Moderator, moderator_for
from playground.secret_key import load_or_create_secret
from playground.settings import Settings
from playground.warmup import ModelWarmup


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
    # The persistent app secret (<data_dir>/secret.key); loaded on first use when not given.
    secret: bytes = b""
    login_throttle: LoginThrottle | None = None
    generation_limits: GenerationLimits | None = None
    moderator: Moderator | None = None
    # Loads the models in the background at start (`playground serve` starts it; see warmup.py).
    warmup: ModelWarmup | None = None
    # Stop buttons set these, keyed by browser session; generation checks them per step.
    _cancel_events: dict[str, threading.Event] = field(default_factory=dict)
    _sync_lock: threading.Lock = field(default_factory=threading.Lock)
    # Generations running per modality, and which version they run on: a switch to another
    # version (the arena serves several) waits until they are done.
    _serving: threading.Condition = field(default_factory=threading.Condition)
    _in_flight: dict[str, int] = field(default_factory=dict)
    # When each client last clicked Generate (time.monotonic()), so the time to the first token
    # shown on a card includes the wait in the queue and for the model, as the user saw it.
    _clicked_at: dict[str, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        settings = self.settings
        if not self.secret:
            settings.create_layout()
            self.secret = load_or_create_secret(settings.data_dir)
        if self.login_throttle is None:
            self.login_throttle = LoginThrottle(
                SlidingWindow(settings.login_failures_per_name, settings.login_window_s),
                SlidingWindow(settings.login_failures_per_ip, settings.login_window_s),
            )
        if self.generation_limits is None:
            self.generation_limits = GenerationLimits(
                SlidingWindow(settings.generations_per_client, settings.generation_window_s),
                SlidingWindow(settings.generations_per_ip, settings.generation_window_s),
            )
        if self.moderator is None:
            self.moderator = moderator_for(settings)
        if self.warmup is None:
            self.warmup = ModelWarmup(
                load=lambda modality: self.generator(modality).load(),
                is_loaded=lambda modality: self.generator(modality).is_loaded,
            )

    @classmethod
    def from_settings(cls, settings: Settings, database: Database) -> AppContext:
        from models.registry import load_image_generator, load_text_generator

        return cls(
            settings=settings,
            database=database,
            text_factory=lambda: load_text_generator(settings.text_model, settings.device, settings.model_cache_dir),
            image_factory=lambda: load_image_generator(settings.image_model, settings.device),
        )

    def generator(self, modality: str) -> TextGenerator | ImageGenerator:
        factories = {"text": self.text_factory, "image": self.image_factory}
        return factories[check_modality(modality)]()

    @contextmanager
    def serving(self, modality: str, version: str | None = None) -> Iterator[tuple[TextGenerator | ImageGenerator, ServedVersion]]:
        """Hold the generator on `version` (None: the active one) for one whole generation.

        Generations on the same version run side by side; one that needs another version waits
        until they have finished, so an arena battle never answers with the wrong version and a
        Text-tab request never runs on a candidate the arena switched to.
        """
        generator = self.generator(modality)
        wanted, adapter, defaults = self._resolve(modality, version)
        active, _, _ = self._resolve(modality, None)
        with self._serving:
            while generator.model_version != wanted and self._in_flight.get(modality, 0) > 0:
                self._serving.wait()
            if self._in_flight.get(modality, 0) == 0:
                with self._sync_lock:
                    if generator.model_version != wanted:
                        generator.use_version(wanted, adapter)
                    # Nothing runs on the other versions now: free all but this one and the active
                    # one, so memory stays flat across promotions and arena battles.
                    _unload_all_but(generator, {wanted, active})
            self._in_flight[modality] = self._in_flight.get(modality, 0) + 1
        try:
            yield generator, ServedVersion(name=wanted, sampling_defaults=defaults)
        finally:
            with self._serving:
                self._in_flight[modality] -= 1
                self._serving.notify_all()

    def _resolve(self, modality: str, version: str | None) -> tuple[str, Path | None, dict[str, Any]]:
        """(name, adapter folder, sampling defaults) of `version`, or of the active version."""
        with self.database.read_sessions() as session:
            if version is None:
                row = active_version(session, modality=modality)
            elif version == BASE_VERSION:
                row = None
            else:
                try:
                    row = version_by_name(session, name=version, modality=modality)
                except UnknownIdError as exc:
                    raise UnknownServedVersionError(f"there is no {modality} version named {version!r}") from exc
            if row is None:
                return BASE_VERSION, None, {}
            adapter = Path(row.adapter_path) if row.adapter_path else None
            return row.name, adapter, dict(row.sampling_defaults)

    def sampling_defaults(self, modality: str) -> dict[str, Any]:
        """Default sampling settings learned for the active version (empty for the base model)."""
        with self.database.read_sessions() as session:
            active = active_version(session, modality=modality)
            return dict(active.sampling_defaults) if active is not None else {}

    def mark_clicked(self, client_key: str) -> None:
        """Generate was clicked by this client now (its request has not been queued yet)."""
        self._clicked_at[client_key] = time.monotonic()

    def clicked_at(self, client_key: str, fallback: float) -> float:
        """When this client's current request was clicked (once; `fallback` for API calls, which
        have no click, or a click older than the fallback's run)."""
        clicked = self._clicked_at.pop(client_key, None)
        return clicked if clicked is not None and clicked <= fallback else fallback

    def cancel_event(self, browser_session: str) -> threading.Event:
        return self._cancel_events.setdefault(browser_session, threading.Event())

    def model_spec(self, modality: str) -> str:
        return {"text": self.settings.text_model, "image": self.settings.image_model}[check_modality(modality)]


class UnknownServedVersionError(PlaygroundError):
    """A version name was asked for that the database does not hold."""


def _unload_all_but(generator: TextGenerator | ImageGenerator, keep: set[str]) -> None:
    """Free the adapters of versions not in `keep` (retired ones, or arena contestants between
    battles; loading one again takes a fraction of a second). Generators without adapters have
    nothing to unload."""
    for version in list(getattr(generator, "loaded_versions", ())):
        if version != BASE_VERSION and version not in keep:
            generator.unload_version(version)
