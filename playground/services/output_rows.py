"""The rows a generation records: its parameters as stored, and each output as a NewOutput (a
finished text or image, or the text so far of a stopped or interrupted one) with its moderation
verdict and token confidence. Shared by the generation handlers (playground/services/generation.py)."""

from __future__ import annotations

import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

from feedback_db.clean_text import clean_text
from feedback_db.queries import NewOutput
from models.base import ImageOutput, ImageParams, TextOutput, TextParams, TokenConfidence
from playground.services.confidence import with_confidence
from playground.serving.context import AppContext


def request_parameters(context: AppContext, modality: str, params: TextParams | ImageParams) -> dict[str, Any]:
    parameters = asdict(params)
    parameters["model"] = context.model_spec(modality)
    if isinstance(parameters.get("stop"), tuple):
        parameters["stop"] = list(parameters["stop"])
    return parameters


def text_row(output: TextOutput, moderation: str | None) -> NewOutput:
    row = NewOutput(
        index=output.index,
        seed=output.seed,
        latency_ms=output.latency_ms,
        text=output.text,
        moderation=moderation,
        tokens=output.tokens,
        time_to_first_token_ms=output.time_to_first_token_ms,
        finish_reason=output.finish_reason,
    )
    return with_confidence(row, output.confidence)


def image_row(context: AppContext, output: ImageOutput) -> NewOutput:
    return NewOutput(
        index=output.index,
        seed=output.seed,
        latency_ms=output.latency_ms,
        image_path=relative_to_data_dir(context, output.path),
        image_sha256=output.sha256,
        finish_reason=output.finish_reason,
    )


def relative_to_data_dir(context: AppContext, path: Path) -> str:
    data_dir = context.settings.data_dir.resolve()
    resolved = Path(path).resolve()
    return str(resolved.relative_to(data_dir)) if resolved.is_relative_to(data_dir) else str(resolved)


def partial_text_rows(
    context: AppContext, texts: list[str], confidence: list[tuple[TokenConfidence, ...]], params: TextParams, started_at: float
) -> list[NewOutput]:
    """Each candidate's text so far (those with any), as stopped outputs: the same moderation as
    finished ones, each candidate's seed by the backends' rule (seed + index), and the confidence
    of its tokens so far where the backend reported it."""
    cleaned = [clean_text(t) for t in texts]
    withheld = context.moderator.reasons(cleaned)
    latency_ms = (time.monotonic() - started_at) * 1000
    seed = params.seed or 0
    return [
        with_confidence(
            NewOutput(index=i, seed=(seed + i) % 2**32, latency_ms=latency_ms, text=text, moderation=reason, finish_reason="cancelled"),
            confidence[i] if i < len(confidence) else None,
        )
        for i, (text, reason) in enumerate(zip(cleaned, withheld, strict=True))
        if text.strip()
    ]
