"""`EngineTextGenerator`: text from an OpenAI-compatible server (vLLM, SGLang, TGI, llama.cpp's
server, Ollama) behind the `models.base.TextGenerator` interface, with LoRA adapters loaded into
the engine at run time as model versions (vLLM's `/v1/load_lora_adapter`).

A spec is `openai:<base URL>[#<model>]`, e.g. `openai:http://127.0.0.1:8000/v1`; without a model
name the server must list exactly one model at `/v1/models`.

Seeds keep the contract of `HFTextGenerator`: candidate i of a request with seed S is its own
chat completion with n=1 and seed S+i, so it can be regenerated alone. The N requests run at
once; the engine batches them like one request with n=N. Same seed, parameters and version give
the same texts, as far as the engine's sampling is deterministic for a seed (vLLM's is).
"""

from __future__ import annotations

import copy
import logging
import queue
import secrets
import threading
import time
from collections.abc import Iterator
from contextlib import closing
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from models.base import (
    BASE_VERSION,
    ModelLoadError,
    StreamingTextGenerator,
    TextOutput,
    TextParams,
    TextProgress,
    TokenConfidence,
    UnknownVersionError,
    check_prompt,
    clip_confidence,
)
from models.text_engine_http import EngineHTTP, EngineTimeouts
from models.text_engine_logprobs import LOGPROBS_REQUEST, chunk_confidence
from models.text_engine_spec import (  # noqa: F401 - is_engine_spec and the errors are used from here too
    FINISH_REASONS,
    EngineError,
    EngineResponseError,
    EngineSpec,
    EngineUnreachableError,
    InvalidEngineSpecError,
    is_engine_spec,
)

DEFAULT_MAX_PROMPT_CHARS = 8000
log = logging.getLogger(__name__)


@dataclass
class _Job:
    """One validated request: its body without the seed, and how to stop it."""

    body: dict[str, Any]
    seeds: list[int]
    confidence: bool  # the body asks for logprobs
    cancel: threading.Event
    abandoned: threading.Event  # set when the consumer stops reading, or a candidate failed
    started: float = field(default_factory=time.perf_counter)

    def stopping(self) -> bool:
        return self.cancel.is_set() or self.abandoned.is_set()


class EngineTextGenerator(StreamingTextGenerator[_Job]):
    """Text generation through an OpenAI-compatible chat completions endpoint.

    The server applies the model's chat template (the prompt is one user turn, as
    `HFTextGenerator.format_prompt` does). Versions are LoRA adapters the engine loads from a
    path, so the engine must be able to read the adapters dir (same host or a shared filesystem).
    """

    def __init__(
        self,
        spec: str | EngineSpec,
        max_prompt_chars: int = DEFAULT_MAX_PROMPT_CHARS,
        timeouts: EngineTimeouts = EngineTimeouts(),
    ):
        self.spec = spec if isinstance(spec, EngineSpec) else EngineSpec.parse(spec)
        self.max_prompt_chars = max_prompt_chars
        self.model_version = BASE_VERSION
        self._lock = threading.RLock()
        self._base_model: str | None = None
        self._adapters: dict[str, Path] = {}  # version id -> adapter folder, as loaded in the engine
        self._http = EngineHTTP(self.spec.base_url, timeouts)

    @property
    def url(self) -> str:
        return self.spec.base_url

    # -- loading -------------------------------------------------------------------------------

    @property
    def is_loaded(self) -> bool:
        return self._base_model is not None

    @property
    def base_model(self) -> str:
        """The engine's name of the base model (what requests for version "base" ask for)."""
        self.load()
        if self._base_model is None:  # load() sets it or raises
            raise ModelLoadError("the engine's base model is unknown: it did not load")
        return self._base_model

    def load(self) -> None:
        """Ask the engine which models it serves and settle the base model's name."""
        if self._base_model is not None:
            return
        with self._lock:
            if self._base_model is not None:
                return
            served = self.served_models()
            # vLLM lists loaded adapters too, with their base model as `parent`.
            bases = [name for name, parent in served.items() if not parent and name not in self._adapters]
            if self.spec.model is not None:
                if self.spec.model not in served:
                    raise ModelLoadError(
                        f"the text engine at {self.url} does not serve {self.spec.model!r}; it serves {', '.join(served) or 'nothing'}"
                    )
                self._base_model = self.spec.model
            elif len(bases) == 1:
                self._base_model = bases[0]
            else:
                raise ModelLoadError(
                    f"the text engine at {self.url} serves {len(bases)} base models ({', '.join(bases)}): "
                    f"name one as openai:{self.url}#MODEL"
                )

    def served_models(self) -> dict[str, str | None]:
        """The models the engine lists at /models, each with its parent (the base model of a
        loaded LoRA adapter; None for a base model or a server that does not say)."""
        reply = self._http.call("GET", "/models")
        try:
            return {str(entry["id"]): entry.get("parent") for entry in reply["data"]}
        except (KeyError, TypeError, AttributeError) as exc:
            raise EngineResponseError(f"the text engine at {self.url} sent a model list without data[].id") from exc

    # -- generation ----------------------------------------------------------------------------

    # `stream` and `generate` come from StreamingTextGenerator: `_prepare` checks before any network
    # call, `_run_streaming` runs (engine failures raise EngineError while iterating).

    def _prepare(self, prompt: str, params: TextParams, cancel: threading.Event | None, answer_prefix: str = "") -> _Job:
        # 1. Cheap checks first, before any network call.
        params = params.validate()
        prompt = check_prompt(prompt, self.max_prompt_chars)
        # 2. The model name of the served version: an adapter's is its version id.
        model = self.base_model if self.model_version == BASE_VERSION else self.model_version
        # 3. A request without a seed gets one, so its outputs can be reproduced later.
        seed = params.seed if params.seed is not None else secrets.randbelow(2**32)
        body: dict[str, Any] = {
            "model": model,
            "messages": [{"role": "user", "content": prompt}],
            "stream": True,
            "stream_options": {"include_usage": True},
            "n": 1,
            "max_tokens": params.max_new_tokens,
            "temperature": params.temperature,
            "top_p": params.top_p,
        }
        if answer_prefix:  # the answer's start as an open assistant turn (vLLM's chat template options)
            body["messages"].append({"role": "assistant", "content": answer_prefix})
            body |= {"continue_final_message": True, "add_generation_prompt": False}
        if params.stop:
            body["stop"] = list(params.stop)
        if params.repetition_penalty != 1.0:  # not in the OpenAI schema; vLLM, SGLang, TGI read it
            body["repetition_penalty"] = params.repetition_penalty
        if params.confidence:  # each token's probability and the top alternatives (text_engine_logprobs)
            body |= LOGPROBS_REQUEST
        seeds = [(seed + i) % 2**32 for i in range(params.n)]
        return _Job(body, seeds, params.confidence, cancel or threading.Event(), threading.Event())

    def _run_streaming(self, job: _Job) -> Iterator[TextProgress]:
        """Relay the candidates; if the engine has forgotten the served adapter (it restarted:
        404 before any text), load it again from its folder and run the request once more."""
        relayed = False
        try:
            for progress in self._relay(job):
                relayed = True
                yield progress
        except EngineResponseError as error:
            version = job.body["model"]
            if relayed or error.status != 404 or version not in self._adapters:
                raise
            log.warning("the engine at %s no longer serves %s; loading it again", self.url, version)
            with self._lock:
                body = {"lora_name": version, "lora_path": str(self._adapters[version])}
                self._http.call("POST", "/load_lora_adapter", body)
            yield from self._relay(replace(job, abandoned=threading.Event(), started=time.perf_counter()))

    def _relay(self, job: _Job) -> Iterator[TextProgress]:
        # 1. One streamed completion per candidate, each in its own thread, all at once.
        events: queue.Queue[tuple[str, int, Any]] = queue.Queue()
        for index, seed in enumerate(job.seeds):
            threading.Thread(target=self._candidate, args=(job, index, seed, events), name=f"engine-stream-{index}", daemon=True).start()
        # 2. Relay their text (and tokens' confidence) as it grows; fail the request if any candidate fails.
        texts = [""] * len(job.seeds)
        tokens: list[tuple[TokenConfidence, ...]] = [()] * len(job.seeds)
        outputs: list[TextOutput | None] = [None] * len(job.seeds)
        try:
            while any(output is None for output in outputs):
                changed = False
                for kind, index, payload in _drain(events):
                    if kind == "delta":
                        texts[index] += payload[0]
                        tokens[index] += payload[1]
                        changed = True
                    elif kind == "done":
                        outputs[index] = payload
                    else:
                        raise payload
                if changed and any(output is None for output in outputs):
                    yield TextProgress(texts=list(texts), confidence=list(tokens) if job.confidence else [])
            final = [output for output in outputs if output is not None]
            confidence = [o.confidence for o in final if o.confidence is not None]
            yield TextProgress(texts=[o.text for o in final], done=True, outputs=final, confidence=confidence)
        finally:
            # The consumer may stop reading early (closed stream, client gone): close the streams.
            job.abandoned.set()

    def _candidate(self, job: _Job, index: int, seed: int, events: queue.Queue[tuple[str, int, Any]]) -> None:
        """Stream one candidate into `events`: ("delta", i, (text, tokens' confidence))..., then
        ("done", i, output)."""
        try:
            events.put(("done", index, self._stream_one(job, index, seed, events)))
        except BaseException as error:  # handed to the consumer thread, which re-raises it
            events.put(("error", index, error))

    def _stream_one(self, job: _Job, index: int, seed: int, events: queue.Queue[tuple[str, int, Any]]) -> TextOutput:
        parts: list[str] = []
        confidence: list[TokenConfidence] = []
        first: float | None = None
        reason: str | None = None
        chunks_seen, usage_tokens = 0, None
        with closing(self._http.stream("/chat/completions", {**job.body, "seed": seed})) as chunks:
            for chunk in chunks:
                if job.stopping():
                    reason = "abort"  # leaving the `with` closes the stream: the engine drops it
                    break
                usage_tokens = (chunk.get("usage") or {}).get("completion_tokens", usage_tokens)
                for choice in chunk.get("choices") or ():
                    text = (choice.get("delta") or {}).get("content") or ""
                    measured = chunk_confidence(choice, text) if job.confidence else []
                    if text and first is None:
                        first = time.perf_counter()
                    if text or measured:  # a token without text (an end token) still has its confidence
                        parts.append(text)
                        confidence.extend(measured)
                        chunks_seen += 1 if text else 0
                        events.put(("delta", index, (text, tuple(measured))))
                    reason = choice.get("finish_reason") or reason
        if reason is None:
            raise EngineResponseError(f"the text engine at {self.url} ended a stream without a finish reason")
        finish = FINISH_REASONS.get(reason, "stop")
        ended = time.perf_counter()
        text = "".join(parts)
        if usage_tokens is None or finish == "cancelled":  # count what arrived: tokens if measured
            usage_tokens = len(confidence) if confidence else chunks_seen
        return TextOutput(
            index=index,
            text=text,
            seed=seed,
            tokens=int(usage_tokens),
            finish_reason=finish,
            time_to_first_token_ms=((first or ended) - job.started) * 1000,
            latency_ms=(ended - job.started) * 1000,
            # None where the server sent no logprobs at all (one that ignores the request).
            confidence=clip_confidence(tuple(confidence), len(text)) if job.confidence and confidence else None,
        )

    # -- versions (LoRA adapters loaded into the engine) ---------------------------------------

    def use_version(self, version_id: str, adapter_path: Path | None) -> None:
        """Serve `version_id`: "base", a version the engine has loaded, or a new adapter folder,
        which the engine loads from that (absolute) path."""
        with self._lock:
            if version_id != BASE_VERSION and version_id not in self._adapters:
                if adapter_path is None:
                    raise UnknownVersionError(f"version {version_id!r} is not loaded and no adapter path was given")
                self._load_adapter(version_id, Path(adapter_path).resolve())
            self.model_version = version_id

    def for_version(self, version_id: str) -> EngineTextGenerator:
        """A view of this generator pinned to `version_id` (loaded by `use_version` first). The
        engine serves every loaded adapter at once (vLLM names the adapter per request), so
        generations on different versions - several users' personal ones - need not take turns."""
        if version_id != BASE_VERSION and version_id not in self._adapters:
            raise UnknownVersionError(f"version {version_id!r} is not loaded in the engine")
        view = copy.copy(self)  # shares the HTTP client, the lock and the loaded adapters
        view.model_version = version_id
        return view

    def _load_adapter(self, version_id: str, adapter_path: Path) -> None:
        if not (adapter_path / "adapter_config.json").is_file():
            raise ModelLoadError(f"{adapter_path} holds no PEFT adapter (adapter_config.json missing)")
        body = {"lora_name": version_id, "lora_path": str(adapter_path)}
        try:
            self._http.call("POST", "/load_lora_adapter", body)
        except EngineResponseError as error:
            if "already" not in str(error):
                raise
            # Another replica loaded it (it is serving it: keep it), or an earlier run of the app
            # left this name pointing elsewhere (load ours in its place).
            if self._engine_paths().get(version_id) != str(adapter_path):
                self._http.call("POST", "/unload_lora_adapter", {"lora_name": version_id})
                self._http.call("POST", "/load_lora_adapter", body)
        log.info("the engine at %s loaded adapter %s as %s", self.url, adapter_path, version_id)
        self._adapters[version_id] = adapter_path

    def _engine_paths(self) -> dict[str, str]:
        """The folder each adapter the engine holds was loaded from (vLLM lists it as `root`)."""
        reply = self._http.call("GET", "/models")
        entries = reply.get("data", []) if isinstance(reply, dict) else []
        return {str(e.get("id")): str(e.get("root")) for e in entries if isinstance(e, dict) and e.get("parent")}

    @property
    def loaded_versions(self) -> list[str]:
        return [BASE_VERSION, *self._adapters]

    def unload_version(self, version_id: str) -> bool:
        """Ask the engine to free a version's adapter (a retired one); serving the version unloaded
        switches to the base first. Returns whether anything was unloaded."""
        with self._lock:
            if version_id not in self._adapters:
                return False
            try:
                self._http.call("POST", "/unload_lora_adapter", {"lora_name": version_id})
            except EngineResponseError as error:
                if error.status != 404:  # 404: the engine no longer has it (restarted): fine
                    raise
            del self._adapters[version_id]
            if self.model_version == version_id:
                self.model_version = BASE_VERSION
            return True

    def close(self) -> None:
        self._http.close()


def _drain(events: queue.Queue[tuple[str, int, Any]]) -> list[tuple[str, int, Any]]:
    """Wait for the next event, then take every other one already waiting (a slow consumer gets
    fewer, bigger updates instead of a growing backlog)."""
    batch = [events.get()]
    while True:
        try:
            batch.append(events.get_nowait())
        except queue.Empty:
            return batch
