"""`HFTextGenerator`: any transformers causal LM (the embedded SmolLM2, a hub id or a local path)
behind the `models.base.TextGenerator` interface, with LoRA adapters as model versions.

One instance per process serves every request (see `models.registry`). A lock makes requests
take turns on the model: generation, version switches and log-prob scoring never overlap, so
a switch can only happen between requests.
"""

from __future__ import annotations

import logging
import queue
import secrets
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from models.base import (
    BASE_VERSION,
    InvalidParameterError,
    ModelLoadError,
    StreamingTextGenerator,
    TextOutput,
    TextParams,
    TextProgress,
    TokenConfidence,
    UnknownVersionError,
    check_prompt,
)
from models.devices import DevicePlacement, resolve_device, to_device
from models.embedded_text import EMBEDDED_TEXT_SPEC, embedded_text_model_dir

if TYPE_CHECKING:
    import torch

DEFAULT_MAX_PROMPT_CHARS = 8000
log = logging.getLogger(__name__)

# What the generation thread hands the consumer: ("texts", TextProgress) while it runs, then
# ("done", list[TextOutput]) or ("error", BaseException).
_Event = tuple[Literal["texts", "done", "error"], Any]


@dataclass
class _Job:
    """One validated request, ready to run."""

    input_ids: torch.Tensor  # (1, prompt_tokens)
    params: TextParams
    seed: int
    cancel: threading.Event  # set by the caller to stop early
    abandoned: threading.Event  # set when the consumer stops reading the stream


class HFTextGenerator(StreamingTextGenerator[_Job]):
    """Text generation with a transformers causal LM, loaded lazily on first use.

    Seeds: a request with seed S (drawn at random when None, and reported) generates candidate i
    with its own random stream seeded S+i (mod 2**32), so candidate i can be regenerated alone
    with n=1 and seed S+i, as with images. Temperature 0 is greedy: all candidates are equal.
    Results are reproducible for the same seed, parameters, version, device and dtype.
    """

    def __init__(
        self,
        spec: str = EMBEDDED_TEXT_SPEC,
        device: str = "auto",
        cache_dir: Path | None = None,
        max_prompt_chars: int = DEFAULT_MAX_PROMPT_CHARS,
    ):
        if spec == EMBEDDED_TEXT_SPEC and cache_dir is None:
            raise ModelLoadError("the embedded text model needs a cache_dir to keep its converted copy")
        self.spec = spec
        self.device_name = device
        self.cache_dir = Path(cache_dir) if cache_dir is not None else None
        self.max_prompt_chars = max_prompt_chars
        self.model_version = BASE_VERSION
        self._lock = threading.RLock()
        self._model: Any = None
        self._tokenizer: Any = None
        self._placement: DevicePlacement | None = None
        self._adapters: dict[str, Path] = {}  # version id -> adapter folder, as loaded

    # -- loading -------------------------------------------------------------------------------

    @property
    def model(self) -> Any:
        """The underlying transformers model (with any loaded adapters), for retraining code."""
        self.load()
        return self._model

    @property
    def tokenizer(self) -> Any:
        self.load()
        return self._tokenizer

    @property
    def placement(self) -> DevicePlacement:
        self.load()
        if self._placement is None:  # load() sets it or raises
            raise ModelLoadError("the text model did not load")
        return self._placement

    @property
    def context_length(self) -> int:
        """How many tokens (prompt plus completion) the model can attend to."""
        config = self.model.config
        return int(getattr(config, "max_position_embeddings", None) or self.tokenizer.model_max_length)

    @property
    def is_loaded(self) -> bool:
        return self._model is not None

    def load(self) -> None:
        """Load tokenizer and model now (otherwise the first request does it)."""
        if self._model is not None:  # no lock once loaded: reading `.model` must not wait for a request
            return
        with self._lock:
            if self._model is None:
                self._load()

    def _load(self) -> None:
        from transformers import AutoModelForCausalLM, AutoTokenizer, GenerationConfig

        # 1. Where the weights are: the embedded model is converted once into the cache dir.
        placement = resolve_device(self.device_name)
        path = self._weights_path()
        # 2. Load; transformers raises OSError/ValueError for missing or malformed models.
        try:
            tokenizer = AutoTokenizer.from_pretrained(path)
            model = AutoModelForCausalLM.from_pretrained(path, dtype=placement.dtype)
        except (OSError, ValueError) as exc:
            raise ModelLoadError(f"could not load text model {self.spec!r}: {exc}") from exc
        to_device(model, placement.device).eval()
        # 3. Own the generation defaults: a hub generation_config.json may carry sampling
        # settings that would silently mix with ours; keep only the special tokens.
        eos = model.generation_config.eos_token_id
        if eos is None:
            eos = tokenizer.eos_token_id
        pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else _first(eos)
        model.generation_config = GenerationConfig(bos_token_id=model.generation_config.bos_token_id, eos_token_id=eos, pad_token_id=pad)
        self._tokenizer, self._placement = tokenizer, placement
        self._model = model  # last: `load()` reads a set model as "fully loaded"

    def _weights_path(self) -> Path | str:
        """The folder or hub id to load: the embedded model is converted once into the cache dir."""
        if self.spec != EMBEDDED_TEXT_SPEC:
            return self.spec
        if self.cache_dir is None:  # __init__ refuses the embedded model without one
            raise ModelLoadError("the embedded text model needs a cache folder for its converted weights")
        return embedded_text_model_dir(self.cache_dir)

    # -- prompts -------------------------------------------------------------------------------

    def format_prompt(self, prompt: str, answer_prefix: str = "") -> str:
        """The prompt as the model sees it: in its chat template as one user turn, if it has one.
        A non-empty `answer_prefix` is the start of the assistant's turn, left open to continue."""
        tokenizer = self.tokenizer
        if not getattr(tokenizer, "chat_template", None):
            return prompt + answer_prefix
        messages = [{"role": "user", "content": prompt}]
        if not answer_prefix:
            return str(tokenizer.apply_chat_template(messages, add_generation_prompt=True, tokenize=False))
        messages.append({"role": "assistant", "content": answer_prefix})
        return str(tokenizer.apply_chat_template(messages, continue_final_message=True, tokenize=False))

    def encode_prompt(self, prompt: str, answer_prefix: str = "") -> torch.Tensor:
        """Token ids (1, length) of the formatted prompt, on the model's device."""
        # The template already holds the special tokens, so none are added here.
        ids = self.tokenizer(self.format_prompt(prompt, answer_prefix), add_special_tokens=False, return_tensors="pt")
        input_ids: torch.Tensor = ids["input_ids"]
        return input_ids.to(self.placement.device)

    # -- generation ----------------------------------------------------------------------------

    # `stream` and `generate` come from StreamingTextGenerator: `_prepare` checks before the model
    # runs, `_run_streaming` runs it in a worker thread.

    def _prepare(self, prompt: str, params: TextParams, cancel: threading.Event | None, answer_prefix: str = "") -> _Job:
        # 1. Cheap checks first, before any model is loaded.
        params = params.validate()
        prompt = check_prompt(prompt, self.max_prompt_chars)
        # 2. The prompt (with any answer to continue) and the completion must fit in the model's context.
        input_ids = self.encode_prompt(prompt, answer_prefix)
        prompt_tokens = input_ids.shape[1]
        if prompt_tokens + params.max_new_tokens > self.context_length:
            what = "the prompt and the answer so far are" if answer_prefix else "the prompt is"
            raise InvalidParameterError(
                f"{what} {prompt_tokens} tokens and max_new_tokens is {params.max_new_tokens}; "
                f"together they exceed the model's context of {self.context_length} tokens"
            )
        # 3. A request without a seed gets one, so its outputs can be reproduced later.
        seed = params.seed if params.seed is not None else secrets.randbelow(2**32)
        return _Job(input_ids, params, seed, cancel or threading.Event(), threading.Event())

    def _run_streaming(self, job: _Job) -> Iterator[TextProgress]:
        events: queue.Queue[_Event] = queue.Queue()
        worker = threading.Thread(target=self._worker, args=(job, events), name="text-generate", daemon=True)
        worker.start()
        try:
            while True:
                kind, payload = _latest(events)
                if kind == "texts":
                    yield payload
                elif kind == "done":
                    confidence = [o.confidence for o in payload if o.confidence is not None]
                    yield TextProgress(texts=[o.text for o in payload], done=True, outputs=payload, confidence=confidence)
                    return
                else:
                    raise payload
        finally:
            # The consumer may stop reading early (closed stream, client gone): stop the model too.
            job.abandoned.set()

    def _worker(self, job: _Job, events: queue.Queue[_Event]) -> None:
        def update(texts: list[str], confidence: list[tuple[TokenConfidence, ...]]) -> None:
            events.put(("texts", TextProgress(texts=texts, confidence=confidence)))

        try:
            events.put(("done", self._generate_batch(job, update)))
        except BaseException as exc:  # handed to the consumer thread, which re-raises it
            events.put(("error", exc))

    def _generate_batch(self, job: _Job, on_update: Callable[[list[str], list[tuple[TokenConfidence, ...]]], None]) -> list[TextOutput]:
        import torch
        from transformers import GenerationConfig, StoppingCriteriaList

        from models.text_confidence import RawProbabilities
        from models.text_decoding import (
            BatchStreamer,
            StopOnEvent,
            StopOnStrings,
            candidate_seeds,
            finish_outputs,
            logits_processors,
        )

        params = job.params
        with self._lock:
            placement = self.placement  # loaded by `_prepare` (it encodes the prompt)
            started = time.perf_counter()
            # 1. N copies of the prompt make one batch: one generate call for all candidates.
            input_ids = job.input_ids.repeat(params.n, 1)
            seeds = candidate_seeds(job.seed, params.n)
            # 2. Sampling happens in PerRowSampler (per-candidate seeds); generate runs greedy. The
            # confidence measurement sees the raw logits, before the repetition penalty.
            probabilities = RawProbabilities() if params.confidence else None
            processors = logits_processors(params, seeds, placement.device, probabilities)
            criteria = StoppingCriteriaList([StopOnEvent(job.cancel, job.abandoned)])
            if params.stop:
                criteria.append(StopOnStrings(self._tokenizer, params.stop, input_ids.shape[1]))
            config = GenerationConfig(max_new_tokens=params.max_new_tokens, do_sample=False)
            streamer = BatchStreamer(self._tokenizer, params.n, self._end_ids(), params.stop, on_update, probabilities)
            # 3. Run; the streamer sees every step's tokens for all rows.
            with torch.inference_mode():
                self._model.generate(
                    input_ids=input_ids,
                    attention_mask=torch.ones_like(input_ids),
                    generation_config=config,
                    logits_processor=processors,
                    stopping_criteria=criteria,
                    streamer=streamer,
                )
            cancelled = job.cancel.is_set() or job.abandoned.is_set()
            return finish_outputs(streamer, seeds, params.max_new_tokens, cancelled, started)

    def _end_ids(self) -> set[int]:
        config = self._model.generation_config
        eos = config.eos_token_id
        ids = set(eos) if isinstance(eos, list) else {eos}
        return {i for i in ids | {config.pad_token_id} if i is not None}

    # -- versions (LoRA adapters) --------------------------------------------------------------

    def use_version(self, version_id: str, adapter_path: Path | None) -> None:
        """Serve `version_id`: "base" (adapters off), a loaded version, or a new adapter folder.

        Adapters stay loaded after a switch, so switching back costs no reload; a known version
        given another folder (a new candidate under a reused name) loads that folder instead.
        """
        with self._lock:
            model = self.model
            if version_id in self._adapters and adapter_path is not None and Path(adapter_path) != self._adapters[version_id]:
                self.unload_version(version_id)
            if version_id == BASE_VERSION:
                if self._adapters:
                    model.disable_adapters()
            elif version_id in self._adapters:
                self._activate(version_id)
            elif adapter_path is None:
                raise UnknownVersionError(f"version {version_id!r} is not loaded and no adapter path was given")
            else:
                self._load_adapter(version_id, Path(adapter_path))
            self.model_version = version_id

    def _load_adapter(self, version_id: str, adapter_path: Path) -> None:
        if not (adapter_path / "adapter_config.json").is_file():
            raise ModelLoadError(f"{adapter_path} holds no PEFT adapter (adapter_config.json missing)")
        try:
            # transformers reports the adapters already loaded as "MISSING" from this folder in a
            # LOAD REPORT table; hide that report and check this adapter's own keys instead.
            with _without_load_report():
                info = self._model.load_adapter(str(adapter_path), adapter_name=version_id)
        except (OSError, ValueError, KeyError, RuntimeError) as exc:
            raise ModelLoadError(f"could not load adapter {adapter_path} for {version_id!r}: {exc}") from exc
        missing = sorted(k for k in getattr(info, "missing_keys", ()) if f".{version_id}." in k)
        if missing:
            raise ModelLoadError(f"adapter {adapter_path} lacks {len(missing)} weights for {version_id!r}, e.g. {missing[0]}")
        log.info("loaded adapter %s as version %s", adapter_path, version_id)
        self._activate(version_id)
        self._adapters[version_id] = adapter_path

    def _activate(self, version_id: str) -> None:
        """Make a loaded adapter the one generations use (called holding the lock, before
        `model_version` changes). peft's `set_adapter` and `enable_adapters` each walk every LoRA
        layer and set `requires_grad` on every loaded adapter's weights: with 10 personal adapters
        loaded, ~50 ms apiece on one CPU core, paid by every request that switches. Adapters are
        off only while the base model is served, so only then is enabling them needed."""
        self._model.set_adapter(version_id)
        if self.model_version == BASE_VERSION:
            self._model.enable_adapters()

    @property
    def loaded_versions(self) -> list[str]:
        return [BASE_VERSION, *self._adapters]

    def unload_version(self, version_id: str) -> bool:
        """Free a loaded version's adapter (e.g. a retired version), so memory stays flat however
        many versions come and go; serving it again loads it again. Unloading the served version
        switches to the base first. Returns whether anything was unloaded."""
        with self._lock:
            if version_id not in self._adapters:
                return False
            if self.model_version == version_id:
                self._model.disable_adapters()
                self.model_version = BASE_VERSION
            self._model.delete_adapter(version_id)
            del self._adapters[version_id]
            return True

    # -- scoring -------------------------------------------------------------------------------

    def completion_logprobs(self, prompts: Sequence[str], completions: Sequence[str]) -> list[tuple[float, int]]:
        """(summed log-probability, tokens) of each completion given its prompt, under the
        served version, taking turns with requests on the lock (`models.text_scoring`: the
        completion is the assistant turn, end-of-turn token included, as TRL trains it)."""
        from models.text_scoring import chat_completion_logprobs

        if len(prompts) != len(completions):
            raise InvalidParameterError("prompts and completions must have the same length")
        with self._lock:
            model = self.model
            return chat_completion_logprobs(model, self._tokenizer, prompts, completions)

    def short_answers(self, prompts: Sequence[str], max_new_tokens: int = 16) -> list[str]:
        """The first line of each prompt's greedy answer under the served version, in batches
        (the capability guard's exact-answer check, `models.text_answers`)."""
        from models.text_answers import greedy_short_answers

        with self._lock:
            model = self.model
            return greedy_short_answers(model, self._tokenizer, prompts, max_new_tokens)


@contextmanager
def _without_load_report() -> Iterator[None]:
    """Drop transformers' per-load report (a table of keys) from its peft integration's logger."""

    def keep(record: logging.LogRecord) -> bool:
        return "LOAD REPORT" not in record.getMessage()

    peft_log = logging.getLogger("transformers.integrations.peft")
    peft_log.addFilter(keep)
    try:
        yield
    finally:
        peft_log.removeFilter(keep)


def _first(value: int | list[int] | None) -> int | None:
    return value[0] if isinstance(value, list) else value


def _latest(events: queue.Queue[_Event]) -> _Event:
    """Wait for the next event; if text updates piled up, skip to the newest one.

    A slow consumer (a busy UI) then gets fewer, fresher updates instead of a growing backlog.
    """
    kind, payload = events.get()
    while kind == "texts":
        try:
            kind, payload = events.get_nowait()
        except queue.Empty:
            break
    return kind, payload
