"""Load the models in the background when the app starts, so the first user does not wait.

`playground serve` starts a `ModelWarmup` before it listens: one thread converts (the embedded
text model, once per data dir) and loads each modality's generator in turn, text first. The
generators' own locks make this the one load: a request that arrives meanwhile waits on the same
lock instead of loading a second copy. The page reads `banner()` to say "warming up" and
`loading_notice()` to tell a waiting request what it waits for; a load that fails is kept here
and shown on the page, rather than lost in a thread.
"""

from __future__ import annotations

import gc
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from models.base import MODALITIES, Modality, ModelError

log = logging.getLogger("playground.serving.warmup")
LoadState = Literal["waiting", "loading", "ready", "failed"]
# Rough first-load times of the embedded models on a 2-core CPU (docs/PERFORMANCE.md): the text
# model is dequantised from GGUF and saved as safetensors once (~20-40 s), later starts take ~2 s.
FIRST_LOAD_S: dict[Modality, int] = {"text": 40, "image": 5}
MODEL_WORDS: dict[Modality, str] = {"text": "text model", "image": "image model"}


@dataclass
class ModelLoad:
    """Where one modality's model is: waiting for its turn, loading, ready or failed (why)."""

    state: LoadState = "waiting"
    started: float | None = None  # time.monotonic() when loading began
    seconds: float | None = None  # how long the load took, once ready
    error: str | None = None


class ModelWarmup:
    """The background load of every modality's model, and what the page says about it.

    `load` loads one modality's model and returns when it is usable (it must be idempotent and
    thread-safe, as the generators' `load()` are); `is_loaded` says whether it already is. Until `start()` is called every modality is
    "waiting" and nothing is said on the page: tests and scripts load on first use.
    """

    def __init__(self, load: Callable[[Modality], None], is_loaded: Callable[[Modality], bool]):
        self._load = load
        self._is_loaded = is_loaded
        self._lock = threading.Lock()
        self._loads: dict[Modality, ModelLoad] = {modality: ModelLoad() for modality in MODALITIES}
        self._thread: threading.Thread | None = None

    def start(self, then: Callable[[], None] | None = None) -> threading.Thread:
        """Begin loading in a daemon thread (once; later calls return the same thread). `then`
        runs in that thread once every model is loaded or has failed."""
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, args=(then,), name="model-warmup", daemon=True)
                self._thread.start()
            return self._thread

    @property
    def started(self) -> bool:
        return self._thread is not None

    def state(self, modality: Modality) -> ModelLoad:
        with self._lock:
            load = self._loads[modality]
            return ModelLoad(load.state, load.started, load.seconds, load.error)

    def ready(self) -> bool:
        """True once warm-up has finished (every model loaded, or failed and reported)."""
        return self.started and all(self.state(m).state in ("ready", "failed") for m in MODALITIES)

    def _run(self, then: Callable[[], None] | None) -> None:
        # Text first: it is the slow one (conversion) and the tab that opens first.
        for modality in MODALITIES:
            self._set(modality, state="loading", started=time.monotonic())
            began = time.monotonic()
            try:
                self._load(modality)
            except ModelError as error:
                self._set(modality, state="failed", error=str(error))
                log.error("could not load the %s: %s", MODEL_WORDS[modality], error)
            # This thread's failures would otherwise vanish: anything unexpected is logged with
            # its traceback and reported on the page by type only (its message may name server
            # paths), and the next model still loads.
            except Exception as error:  # noqa: BLE001
                log.exception("loading the %s failed", MODEL_WORDS[modality])
                self._set(modality, state="failed", error=f"{type(error).__name__} (details in the server log)")
            else:
                seconds = time.monotonic() - began
                self._set(modality, state="ready", seconds=seconds)
                log.info("%s ready in %.1f s", MODEL_WORDS[modality], seconds)
        if then is not None:
            then()

    def _set(self, modality: Modality, **changes: object) -> None:
        with self._lock:
            for name, value in changes.items():
                setattr(self._loads[modality], name, value)

    # -- what the page says -------------------------------------------------------------------

    def banner(self) -> str:
        """One line for the top of the page: empty when there is nothing to say."""
        if not self.started:
            return ""
        parts = []
        for modality in MODALITIES:
            load = self.state(modality)
            if load.state == "failed":
                parts.append(f"**Not available:** the {MODEL_WORDS[modality]} could not be loaded: {load.error}")
            elif load.state != "ready":
                parts.append(self._progress_words(modality, load))
        if not parts:
            return ""
        head = "**Warming up** · " if not self.ready() else ""
        return head + " · ".join(parts)

    def loading_notice(self, modality: Modality) -> str | None:
        """What a request for `modality` waits for, or None when its model is loaded. Without
        warm-up (tests, scripts) the request loads the model itself and says so."""
        load = self.state(modality)
        if load.state == "ready" or self._is_loaded(modality):
            return None
        if load.state == "failed":
            return f"The {MODEL_WORDS[modality]} failed to load at start ({load.error}); trying again…"
        if not self.started:
            return f"Loading the {MODEL_WORDS[modality]} (first time ~{FIRST_LOAD_S[modality]} s)…"
        return self._progress_words(modality, load).replace("loading", "Loading", 1) + "…"

    @staticmethod
    def _progress_words(modality: Modality, load: ModelLoad) -> str:
        words = MODEL_WORDS[modality]
        if load.state == "waiting":
            return f"the {words} loads next"
        elapsed = time.monotonic() - (load.started or time.monotonic())
        return f"loading the {words} ({elapsed:.0f} s so far, first time ~{FIRST_LOAD_S[modality]} s)"


def freeze_the_loaded_heap() -> None:
    """Take the objects alive once the models are loaded (torch, transformers, diffusers, the
    models, the Blocks) out of the cyclic garbage collector's reach (`playground serve` runs this
    after warm-up). They live as long as the process, yet every full collection walked all of
    them: ~0.9 M objects, 0.3-0.55 s holding the GIL, every 15-30 s under rating load, and every
    request in flight waited (docs/PERFORMANCE.md, "Rating under load").
    Objects made later are collected as before."""
    gc.collect()
    gc.freeze()
    log.info("%d objects frozen out of garbage collection", gc.get_freeze_count())
