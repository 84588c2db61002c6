"""What the text benchmarks share: the prompt, a timed run and how a stream is timed."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

from models.base import TextGenerator, TextParams

PROMPT = "Write a long story about a dragon who learns to cook."


@dataclass
class Timed:
    tokens: int
    seconds: float
    first_token_ms: float = math.nan  # the earliest candidate's; NaN where a run does not measure it

    @property
    def rate(self) -> float:
        return self.tokens / self.seconds


def timed_stream(generator: TextGenerator, params: TextParams) -> Timed:
    """One request through the backend's own streaming path, read to its end."""
    started = time.perf_counter()
    for progress in generator.stream(PROMPT, params):  # noqa: B007 - the last update holds the outputs
        pass
    seconds = time.perf_counter() - started
    outputs = progress.outputs
    return Timed(sum(o.tokens for o in outputs), seconds, min(o.time_to_first_token_ms for o in outputs))
