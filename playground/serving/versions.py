"""Which model version a modality's generator serves, and switching it safely under load.

One `VersionServer` per modality owns its generator (built on first use from a factory, so tests
can hand in small fakes), reads the version to serve from the database before each generation,
and switches the generator to it between generations. This is how a version promoted by
`playground retrain` reaches the running app with no restart.

The version is the active global one, or the viewer's own personal version where it has one
(trained on its own ratings, feedback_db/personal.py); an arena side may name one. Generations on
the same version run side by side; one that needs another version waits until they have
finished, so no answer ever comes from the wrong version - except on a generator that can serve
several versions at once (an engine with runtime LoRA: `for_version`), where each generation gets
a view pinned to its own version and nothing waits. Personal adapters stay loaded up to a budget
(`personal_adapters_loaded`), the least recently used going first; one that cannot be loaded
(missing or corrupt folder) is logged and its owner served the global version.
"""

from __future__ import annotations

import logging
import threading
from collections import Counter, OrderedDict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Generic, TypeVar

from feedback_db.errors import UnknownIdError
from feedback_db.personal import served_personal_version
from feedback_db.versions import active_version, version_by_name
from models.base import BASE_VERSION, ImageGenerator, Modality, ModelError, TextGenerator
from playground.core.database import Database
from playground.core.errors import PlaygroundError

G = TypeVar("G", TextGenerator, ImageGenerator)
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ServedVersion:
    """The model version answering a request, with its learned sampling defaults; a personal
    version says how many of its owner's ratings trained it."""

    name: str
    sampling_defaults: dict[str, Any]
    personal_ratings: int | None = None  # None: a global version (or the base model)

    @property
    def personal(self) -> bool:
        return self.personal_ratings is not None


@dataclass(frozen=True)
class _Resolved:
    name: str
    adapter: Path | None
    sampling_defaults: dict[str, Any]
    personal_ratings: int | None = None

    def served(self) -> ServedVersion:
        return ServedVersion(self.name, self.sampling_defaults, self.personal_ratings)


class UnknownServedVersionError(PlaygroundError):
    """A version name was asked for that the database does not hold (for this viewer)."""


class VersionServer(Generic[G]):
    """The generator of one modality and the version it serves."""

    def __init__(self, modality: Modality, database: Database, factory: Callable[[], G], personal_adapters_loaded: int = 8):
        self.modality = modality
        self._database = database
        self._factory: Callable[[], G] = factory
        self._personal_budget = personal_adapters_loaded
        self._switch_lock = threading.Lock()
        # Generations running now, per version (on a switching generator all on `generator.model_version`).
        self._serving = threading.Condition()
        self._in_flight: Counter[str] = Counter()
        self._recent_personal: OrderedDict[str, None] = OrderedDict()  # least recently served first

    @property
    def generator(self) -> G:
        return self._factory()

    @contextmanager
    def serving(self, version: str | None = None, owner_id: int | None = None) -> Iterator[tuple[G, ServedVersion]]:
        """Hold the generator on `version` (None: `owner_id`'s personal version if it has one,
        else the active one) for one whole generation.

        1. Resolve the wanted version (and the active one, which stays loaded).
        2. Load it (a personal adapter that fails to load: log, serve the active one instead).
        3. Wait until no generation runs on another version (not on a generator that serves
           several at once), switch, and free the adapters neither wanted, active, in use nor
           among the most recently served personal ones.
        4. Count this generation in until it ends, then wake the waiting ones.
        """
        generator = self.generator
        wanted = self._resolve(version, owner_id)
        active = self._resolve(None, None) if (version is not None or wanted.personal_ratings is not None) else wanted
        pinned_view = getattr(generator, "for_version", None)  # serves several versions at once
        serves_at_once = pinned_view is not None
        with self._serving:
            while not serves_at_once and generator.model_version != wanted.name and sum(self._in_flight.values()) > 0:
                self._serving.wait()
            wanted = self._switch(generator, wanted, active, serves_at_once)
            self._in_flight[wanted.name] += 1
        try:
            pinned = pinned_view(wanted.name) if pinned_view is not None else generator
            yield pinned, wanted.served()
        finally:
            with self._serving:
                self._in_flight[wanted.name] -= 1
                self._serving.notify_all()

    def _switch(self, generator: G, wanted: _Resolved, active: _Resolved, serves_at_once: bool) -> _Resolved:
        """Make `generator` serve `wanted` (called holding `_serving`, with no generation in
        flight on another version unless the generator serves several at once); returns what it
        serves, which is `active` where a personal adapter would not load."""
        with self._switch_lock:
            try:
                if generator.model_version != wanted.name or wanted.name not in generator.loaded_versions:
                    generator.use_version(wanted.name, wanted.adapter)
            except (ModelError, OSError) as error:
                if wanted.personal_ratings is None:
                    raise
                log.warning(
                    "personal %s version %s did not load (%s); its owner is served %s", self.modality, wanted.name, error, active.name
                )
                self._recent_personal.pop(wanted.name, None)
                if generator.model_version != active.name:
                    generator.use_version(active.name, active.adapter)
                wanted = active
            if wanted.personal_ratings is not None:
                self._recent_personal[wanted.name] = None
                self._recent_personal.move_to_end(wanted.name)
            self._unload_unused(generator, keep={wanted.name, active.name})
        return wanted

    def _unload_unused(self, generator: G, keep: set[str]) -> None:
        """Free the adapters of versions not kept: retired ones, arena contestants between
        battles, personal ones past the budget (loading one again takes a fraction of a second)."""
        recent = list(self._recent_personal)
        keep |= set(recent[-self._personal_budget :]) if self._personal_budget > 0 else set()
        keep |= {name for name, count in self._in_flight.items() if count > 0}
        for name in list(generator.loaded_versions):
            if name != BASE_VERSION and name not in keep:
                generator.unload_version(name)
                self._recent_personal.pop(name, None)

    def forget(self, version: str) -> None:
        """Unload `version` now if it is loaded and idle (its owner's data was deleted). Only
        personal versions this server loaded are known here; nothing else is touched (nor is a
        generator built for it)."""
        with self._serving:
            if version not in self._recent_personal:
                return
            self._recent_personal.pop(version, None)
            generator = self.generator
            if self._in_flight[version] == 0 and version in generator.loaded_versions and generator.model_version != version:
                with self._switch_lock:
                    generator.unload_version(version)

    def sampling_defaults(self) -> dict[str, Any]:
        """Default sampling settings learned for the active version (empty for the base model)."""
        return self._resolve(None, None).sampling_defaults

    def _resolve(self, version: str | None, owner_id: int | None) -> _Resolved:
        """Name, adapter folder and sampling defaults of `version` (found among the global
        versions and `owner_id`'s own), or of `owner_id`'s personal version, or of the active one."""
        with self._database.read_sessions() as session:
            if version is None and owner_id is not None:
                personal = served_personal_version(session, modality=self.modality, owner_id=owner_id)
                if personal is not None:
                    return _Resolved(personal.name, personal.adapter_path, personal.sampling_defaults, personal.rated_outputs)
            if version is None:
                row = active_version(session, modality=self.modality)
            elif version == BASE_VERSION:
                row = None
            else:
                try:
                    row = version_by_name(session, name=version, modality=self.modality, owner_id=owner_id)
                except UnknownIdError as exc:
                    raise UnknownServedVersionError(f"there is no {self.modality} version named {version!r}") from exc
            if row is None:
                return _Resolved(BASE_VERSION, None, {})
            rated = None
            if row.owner_id is not None:  # an arena side naming the viewer's own personal version
                personal = served_personal_version(session, modality=self.modality, owner_id=row.owner_id)
                rated = personal.rated_outputs if personal is not None and personal.name == row.name else 0
            return _Resolved(row.name, Path(row.adapter_path) if row.adapter_path else None, dict(row.sampling_defaults), rated)
