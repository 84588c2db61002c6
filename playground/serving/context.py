"""The app's composition root: everything a handler needs, built once by `build_context` and
passed down - settings, database, the version server of each modality, limits, moderation,
warm-up and the per-client state. Frozen: no field is filled in later.

Generators come from factories so tests can hand in small fakes; `build_context`'s defaults load
the shared per-process instances from `models.registry` on first use.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any, Literal, overload

from models.base import ImageGenerator, Modality, TextGenerator, check_modality
from playground.core.database import Database
from playground.core.limits import GenerationLimits, LoginThrottle, SlidingWindow
from playground.core.moderation import Moderator, moderator_for
from playground.core.secret_key import load_or_create_secret
from playground.core.settings import Settings
from playground.serving.clients import ClickTimes, StopSignals
from playground.serving.versions import ServedVersion, UnknownServedVersionError, VersionServer
from playground.serving.warmup import ModelWarmup

# The version server of either modality.
ModalityServer = VersionServer[TextGenerator] | VersionServer[ImageGenerator]

__all__ = ["AppContext", "ServedVersion", "UnknownServedVersionError", "build_context"]


@dataclass(frozen=True)
class AppContext:
    settings: Settings
    database: Database
    text: VersionServer[TextGenerator]
    image: VersionServer[ImageGenerator]
    secret: bytes  # the persistent app secret (<data_dir>/secret.key)
    login_throttle: LoginThrottle
    generation_limits: GenerationLimits
    moderator: Moderator
    # Loads the models in the background at start (`playground serve` starts it; see warmup.py).
    warmup: ModelWarmup
    stops: StopSignals
    clicks: ClickTimes

    @overload
    def versions(self, modality: Literal["text"]) -> VersionServer[TextGenerator]: ...
    @overload
    def versions(self, modality: Literal["image"]) -> VersionServer[ImageGenerator]: ...
    @overload
    def versions(self, modality: str) -> ModalityServer: ...
    def versions(self, modality: str) -> ModalityServer:
        servers: dict[Modality, ModalityServer] = {"text": self.text, "image": self.image}
        return servers[check_modality(modality)]

    @overload
    def generator(self, modality: Literal["text"]) -> TextGenerator: ...
    @overload
    def generator(self, modality: Literal["image"]) -> ImageGenerator: ...
    @overload
    def generator(self, modality: str) -> TextGenerator | ImageGenerator: ...
    def generator(self, modality: str) -> TextGenerator | ImageGenerator:
        return self.versions(modality).generator

    @overload
    def serving(
        self, modality: Literal["text"], version: str | None = None, owner_id: int | None = None
    ) -> AbstractContextManager[tuple[TextGenerator, ServedVersion]]: ...
    @overload
    def serving(
        self, modality: Literal["image"], version: str | None = None, owner_id: int | None = None
    ) -> AbstractContextManager[tuple[ImageGenerator, ServedVersion]]: ...
    @overload
    def serving(
        self, modality: str, version: str | None = None, owner_id: int | None = None
    ) -> AbstractContextManager[tuple[TextGenerator | ImageGenerator, ServedVersion]]: ...
    def serving(
        self, modality: str, version: str | None = None, owner_id: int | None = None
    ) -> AbstractContextManager[tuple[TextGenerator | ImageGenerator, ServedVersion]]:
        """Hold the modality's generator on `version` (None: `owner_id`'s personal version where
        it has one and personal versions are on, else the active one) for one generation."""
        owner = owner_id if self.settings.personal_versions else None
        return self.versions(modality).serving(version, owner)

    def sampling_defaults(self, modality: str) -> dict[str, Any]:
        return self.versions(modality).sampling_defaults()

    def model_spec(self, modality: Modality | str) -> str:
        return {"text": self.settings.text_model, "image": self.settings.image_model}[check_modality(modality)]


def build_context(
    settings: Settings,
    database: Database,
    text_factory: Callable[[], TextGenerator] | None = None,
    image_factory: Callable[[], ImageGenerator] | None = None,
    *,
    moderator: Moderator | None = None,
) -> AppContext:
    """The context for `settings`: the registry's shared generators unless factories are given,
    the secret loaded (or created) under the data dir, limits and moderation from the settings."""
    from models.registry import load_image_generator, load_text_generator

    text_factory = text_factory or (lambda: load_text_generator(settings.text_model, settings.device, settings.model_cache_dir))
    image_factory = image_factory or (lambda: load_image_generator(settings.image_model, settings.device))
    settings.create_layout()
    budget = settings.personal_adapters_loaded
    text = VersionServer("text", database, text_factory, personal_adapters_loaded=budget)
    image = VersionServer("image", database, image_factory, personal_adapters_loaded=budget)
    servers: dict[Modality, ModalityServer] = {"text": text, "image": image}
    return AppContext(
        settings=settings,
        database=database,
        text=text,
        image=image,
        secret=load_or_create_secret(settings.data_dir),
        login_throttle=LoginThrottle(
            SlidingWindow(settings.login_failures_per_name, settings.login_window_s),
            SlidingWindow(settings.login_failures_per_ip, settings.login_window_s),
        ),
        generation_limits=GenerationLimits(
            SlidingWindow(settings.generations_per_client, settings.generation_window_s),
            SlidingWindow(settings.generations_per_ip, settings.generation_window_s),
        ),
        moderator=moderator or moderator_for(settings),
        warmup=ModelWarmup(
            load=lambda modality: servers[modality].generator.load(),
            is_loaded=lambda modality: servers[modality].generator.is_loaded,
        ),
        stops=StopSignals(),
        clicks=ClickTimes(),
    )
