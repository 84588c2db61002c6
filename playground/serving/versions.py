"""Which model version a modality's generator serves, and switching it safely under load.

One `VersionServer` per modality owns its generator (built on first use from a factory, so tests
can hand in small fakes), reads the active version from the database before each generation, and
switches the generator to it between generations. This is how a version promoted by `playground
retrain` reaches the running app with no restart. Generations on the same version run side by
side; one that needs another version (an arena battle) waits until they have finished, so no
answer ever comes from the wrong version.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Generic, TypeVar

from feedback_db.errors import UnknownIdError
from feedback_db.versions import active_version, version_by_name
from models.base import BASE_VERSION, ImageGenerator, Modality, TextGenerator
from playground.core.database import Database
from playground.core.errors import PlaygroundError

G = TypeVar("G", TextGenerator, ImageGenerator)


@dataclass(frozen=True)
class ServedVersion:
    """The model version answering a request, with its learned sampling defaults."""

    name: str
    sampling_defaults: dict[str, Any]


@dataclass(frozen=True)
class _Resolved:
    name: str
    adapter: Path | None
    sampling_defaults: dict[str, Any]


class UnknownServedVersionError(PlaygroundError):
    """A version name was asked for that the database does not hold."""


class VersionServer(Generic[G]):
    """The generator of one modality and the version it serves."""

    def __init__(self, modality: Modality, database: Database, factory: Callable[[], G]):
        self.modality = modality
        self._database = database
        self._factory: Callable[[], G] = factory
        self._switch_lock = threading.Lock()
        # Generations running now, all on `generator.model_version`.
        self._serving = threading.Condition()
        self._in_flight = 0

    @property
    def generator(self) -> G:
        return self._factory()

    @contextmanager
    def serving(self, version: str | None = None) -> Iterator[tuple[G, ServedVersion]]:
        """Hold the generator on `version` (None: the active one) for one whole generation.

        1. Resolve the wanted version (and the active one, which stays loaded).
        2. Wait until no generation runs on another version.
        3. If none runs at all, switch, and free the adapters of versions neither wanted nor
           active, so memory stays flat across promotions and arena battles.
        4. Count this generation in until it ends, then wake the waiting ones.
        """
        generator = self.generator
        wanted = self._resolve(version)
        active = self._resolve(None) if version is not None else wanted
        with self._serving:
            while generator.model_version != wanted.name and self._in_flight > 0:
                self._serving.wait()
            if self._in_flight == 0:
                with self._switch_lock:
                    if generator.model_version != wanted.name:
                        generator.use_version(wanted.name, wanted.adapter)
                    _unload_all_but(generator, {wanted.name, active.name})
            self._in_flight += 1
        try:
            yield generator, ServedVersion(name=wanted.name, sampling_defaults=wanted.sampling_defaults)
        finally:
            with self._serving:
                self._in_flight -= 1
                self._serving.notify_all()

    def sampling_defaults(self) -> dict[str, Any]:
        """Default sampling settings learned for the active version (empty for the base model)."""
        return self._resolve(None).sampling_defaults

    def _resolve(self, version: str | None) -> _Resolved:
        """Name, adapter folder and sampling defaults of `version`, or of the active version."""
        with self._database.read_sessions() as session:
            if version is None:
                row = active_version(session, modality=self.modality)
            elif version == BASE_VERSION:
                row = None
            else:
                try:
                    row = version_by_name(session, name=version, modality=self.modality)
                except UnknownIdError as exc:
                    raise UnknownServedVersionError(f"there is no {self.modality} version named {version!r}") from exc
            if row is None:
                return _Resolved(BASE_VERSION, None, {})
            return _Resolved(row.name, Path(row.adapter_path) if row.adapter_path else None, dict(row.sampling_defaults))


def _unload_all_but(generator: TextGenerator | ImageGenerator, keep: set[str]) -> None:
    """Free the adapters of versions not in `keep` (retired ones, or arena contestants between
    battles; loading one again takes a fraction of a second)."""
    for version in list(generator.loaded_versions):
        if version != BASE_VERSION and version not in keep:
            generator.unload_version(version)
