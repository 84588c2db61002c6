"""The pieces `HFTextGenerator` plugs into `transformers.generate` for a batch of N candidates.

- `PerRowSampler` samples each candidate with its own seeded generator, so candidate i of a
  request with seed S is reproducible alone (n=1, seed S+i) as well as in its batch.
- `BatchStreamer` collects the tokens of every row as they arrive (transformers'
  TextIteratorStreamer only handles a batch of one) and reports every candidate's text so far.
- `StopOnEvent` and `StopOnStrings` end rows on cancellation or on a stop string.
- `logits_processors` puts them in order: confidence first (raw logits), then the repetition
  penalty, then the sampler.
- `finish_outputs` turns the finished rows into `TextOutput`s with finish reasons and timings.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from typing import Any, cast

import torch
from transformers.generation.logits_process import (
    LogitsProcessor,
    LogitsProcessorList,
    RepetitionPenaltyLogitsProcessor,
    TemperatureLogitsWarper,
    TopPLogitsWarper,
)
from transformers.generation.stopping_criteria import StoppingCriteria
from transformers.generation.streamers import BaseStreamer

from models.base import FinishReason, TextOutput, TextParams, TokenConfidence, clip_confidence
from models.text_confidence import RawProbabilities, TokenTexts, added_text

SEED_MODULUS = 2**32  # seeds stay in TextParams' range, so any candidate can be re-requested


def candidate_seeds(seed: int, n: int) -> list[int]:
    """Candidate i of a request with seed S uses seed S+i (wrapping at 2**32), like images."""
    return [(seed + i) % SEED_MODULUS for i in range(n)]


class PerRowSampler(LogitsProcessor):
    """Sample one token per row with that row's generator, and leave it as the only choice.

    generate() then runs in greedy mode, whose argmax picks exactly the sampled token. Sampling
    here instead of with generate's global RNG makes each candidate depend on its own seed only,
    not on how many candidates share the batch. It must be the last processor, after the
    repetition penalty that generate applies itself.
    """

    def __init__(self, seeds: Sequence[int], temperature: float, top_p: float, device: torch.device):
        self.generators = [torch.Generator(device=device).manual_seed(s) for s in seeds]
        self.warpers: list[LogitsProcessor] = [TemperatureLogitsWarper(temperature)]
        if top_p < 1.0:
            self.warpers.append(TopPLogitsWarper(top_p))

    def __call__(self, input_ids: torch.LongTensor, scores: torch.FloatTensor) -> torch.FloatTensor:
        for warper in self.warpers:
            scores = warper(input_ids, scores)
        probs = torch.softmax(scores.float(), dim=-1)
        chosen = torch.stack([torch.multinomial(probs[i], 1, generator=g) for i, g in enumerate(self.generators)])
        only_chosen = torch.full_like(scores, float("-inf"))
        return cast(torch.FloatTensor, only_chosen.scatter_(1, chosen, 0.0))


def logits_processors(
    params: TextParams, seeds: Sequence[int], device: torch.device, probabilities: RawProbabilities | None
) -> LogitsProcessorList:
    """The processors of one generation, in order: the confidence measurement sees the raw
    logits, so the repetition penalty comes after it here (generate would put its own first),
    and the sampler comes last."""
    processors = LogitsProcessorList()
    if probabilities is not None:
        processors.append(probabilities)
    if params.repetition_penalty != 1.0:
        processors.append(RepetitionPenaltyLogitsProcessor(params.repetition_penalty))
    if params.temperature > 0:
        processors.append(PerRowSampler(seeds, params.temperature, params.top_p, device))
    return processors


class StopOnEvent(StoppingCriteria):
    """End every row as soon as any of the events is set (user cancel, abandoned stream)."""

    def __init__(self, *events: threading.Event):
        self.events = events

    def __call__(self, input_ids: torch.LongTensor, scores: torch.FloatTensor, **kwargs: Any) -> torch.BoolTensor:
        stop = any(e.is_set() for e in self.events)
        return cast(torch.BoolTensor, torch.full((input_ids.shape[0],), stop, dtype=torch.bool, device=input_ids.device))


class StopOnStrings(StoppingCriteria):
    """End a row once its generated text contains a stop string.

    Decodes only the last few tokens of each row: every token adds at least one byte and a
    character takes at most four, so 4 tokens per character (plus slack) always cover it.
    """

    def __init__(self, tokenizer: Any, stops: Sequence[str], prompt_length: int):
        self.tokenizer = tokenizer
        self.stops = tuple(stops)
        self.prompt_length = prompt_length
        self.window = 4 * max(len(s) for s in self.stops) + 4

    def __call__(self, input_ids: torch.LongTensor, scores: torch.FloatTensor, **kwargs: Any) -> torch.BoolTensor:
        tails = input_ids[:, max(self.prompt_length, input_ids.shape[1] - self.window) :]
        texts = self.tokenizer.batch_decode(tails, skip_special_tokens=True)
        hits = [any(s in text for s in self.stops) for text in texts]
        return cast(torch.BoolTensor, torch.tensor(hits, dtype=torch.bool, device=input_ids.device))


def cut_at_stop(text: str, stops: Sequence[str]) -> tuple[str, bool]:
    """Return the text before the earliest stop string, and whether one was found."""
    cut = min((i for i in (text.find(s) for s in stops) if i >= 0), default=-1)
    return (text[:cut], True) if cut >= 0 else (text, False)


class BatchStreamer(BaseStreamer):
    """Receives each decoding step's tokens for the whole batch from generate().

    generate() first puts the prompt ids, then one token per row per step; rows that have
    finished receive padding, which `completion_ids` cuts off.

    With `probabilities` (the generation's `RawProbabilities`), each completion token also gets
    a `TokenConfidence` whose text is what the token added to the row's decoded text, so a
    row's token texts join into its text (cut at a stop string like the text itself).
    `on_update` receives every row's text so far and, when measured, its tokens' confidence.
    """

    def __init__(
        self,
        tokenizer: Any,
        n: int,
        end_ids: set[int],
        stops: Sequence[str],
        on_update: Callable[[list[str], list[tuple[TokenConfidence, ...]]], None] | None = None,
        probabilities: RawProbabilities | None = None,
    ):
        self.tokenizer = tokenizer
        self.end_ids = end_ids
        self.stops = tuple(stops)
        self.on_update = on_update
        self.probabilities = probabilities
        self.rows: list[list[int]] = [[] for _ in range(n)]
        self.step_times: list[float] = []  # perf_counter() when each step's tokens arrived
        self._prompt_seen = False
        self._ended = [False] * n  # the row has had its end-of-sequence token
        self._decoded = [""] * n  # each row's completion decoded (see `text_of`)
        self._confidence: list[list[TokenConfidence]] = [[] for _ in range(n)]
        self._token_texts = TokenTexts(tokenizer)

    def put(self, value: torch.Tensor) -> None:
        if not self._prompt_seen:  # the first put is the prompt, which is not streamed
            self._prompt_seen = True
            return
        self.step_times.append(time.perf_counter())
        # 1. Every row's token of this step, measured in one batch if confidence is on.
        measured = self.probabilities.measure(value) if self.probabilities is not None else None
        for index, token in enumerate(value.reshape(-1).tolist()):
            self.rows[index].append(token)
            # 2. A row's text grows until its end token (then it receives padding).
            if self._ended[index] or token in self.end_ids:
                self._ended[index] = True
                continue
            before, after = self._decoded[index], self._decode(index)
            self._decoded[index] = after
            if measured is not None:
                self._confidence[index].append(self._token_texts.confidence(added_text(before, after), measured[index]))
        if self.on_update is not None:
            self.on_update(self.texts(), self.confidence())

    def end(self) -> None:
        pass

    def completion_ids(self, index: int) -> tuple[list[int], bool]:
        """Return a row's tokens before its first end-of-sequence/padding id, and whether it had one."""
        row = self.rows[index]
        for position, token in enumerate(row):
            if token in self.end_ids:
                return row[:position], True
        return row, False

    def texts(self) -> list[str]:
        return [self.text_of(i)[0] for i in range(len(self.rows))]

    def text_of(self, index: int) -> tuple[str, bool]:
        """A row's text so far (before any stop string), and whether a stop string ended it."""
        text = self._decoded[index]
        return cut_at_stop(text, self.stops) if self.stops else (text, False)

    def confidence(self) -> list[tuple[TokenConfidence, ...]]:
        """Every row's tokens' confidence so far; empty when not measured."""
        if self.probabilities is None:
            return []
        return [self.confidence_of(i) for i in range(len(self.rows))]

    def confidence_of(self, index: int) -> tuple[TokenConfidence, ...]:
        """One per completion token; past a stop string the token texts are cut like the text."""
        tokens = tuple(self._confidence[index])
        text, hit_stop = self.text_of(index)
        return clip_confidence(tokens, len(text)) if hit_stop else tokens

    def _decode(self, index: int) -> str:
        ids, _ = self.completion_ids(index)
        # A byte-level token may hold only part of a character (an emoji is often 2-4 tokens):
        # until the rest arrives, decode shows U+FFFD for it. Drop that tail, both while
        # streaming (the next token completes it) and when the length limit cuts it off.
        return str(self.tokenizer.decode(ids, skip_special_tokens=True)).rstrip("\ufffd")


def finish_outputs(
    streamer: BatchStreamer,
    seeds: Sequence[int],
    max_new_tokens: int,
    cancelled: bool,
    started: float,
) -> list[TextOutput]:
    """Build one TextOutput per row from what the streamer saw.

    `tokens` counts the completion's tokens (not the end-of-sequence marker); latency runs from
    `started` to the step that ended the row, so it includes the prompt's prefill.
    """
    outputs = []
    steps = streamer.step_times
    for index, seed in enumerate(seeds):
        ids, ended = streamer.completion_ids(index)
        text, hit_stop = streamer.text_of(index)
        reason: FinishReason
        if hit_stop or ended:
            reason = "stop"
        elif len(ids) >= max_new_tokens:
            reason = "length"
        else:
            reason = "cancelled" if cancelled else "length"
        last_step = min(len(ids) if ended else len(ids) - 1, len(steps) - 1)
        latency = (steps[max(last_step, 0)] - started) if steps else 0.0
        first = (steps[0] - started) if steps else 0.0
        outputs.append(
            TextOutput(
                index=index,
                text=text,
                seed=seed,
                tokens=len(ids),
                finish_reason=reason,
                time_to_first_token_ms=first * 1000,
                latency_ms=latency * 1000,
                confidence=streamer.confidence_of(index) if streamer.probabilities is not None else None,
            )
        )
    return outputs
