"""Bulk generation for the annotation queue: `playground generate --prompts FILE.jsonl --n 4`.

Each line of the prompt file is a JSON object: `{"prompt": "...", "params": {...}}`, where the
optional `params` are TextParams / ImageParams fields (e.g. `max_new_tokens`, `temperature`,
`seed`, `steps`); other top-level keys (an id, a category) are ignored. The number of candidates
comes from `--n` for every line.

Every line is checked before anything is generated and bad lines are reported with their line
numbers; the good ones still go in. Generation runs through the same `stream_text` /
`stream_image` path as the UI (same validation, same recording), with source "bulk", so the new
requests land in the annotators' queue.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, cast

from tqdm import tqdm

from feedback_db.errors import FeedbackDBError
from models.base import MAX_CANDIDATES, ImageParams, InvalidParameterError, ModelError, TextParams
from playground.core.errors import IncompleteGenerationError, PlaygroundError
from playground.services.generation import ImageUpdate, TextUpdate, stream_image, stream_text
from playground.serving.context import AppContext

PARAMS: dict[str, type[TextParams] | type[ImageParams]] = {"text": TextParams, "image": ImageParams}


class PromptFileError(PlaygroundError):
    """The prompt file cannot be read at all (missing, a folder, not UTF-8)."""


@dataclass(frozen=True)
class PromptLine:
    line: int  # 1-based, as editors show it
    prompt: str
    params: TextParams | ImageParams


@dataclass(frozen=True)
class LineProblem:
    line: int
    message: str


@dataclass
class BulkReport:
    request_ids: list[int] = field(default_factory=list)
    problems: list[LineProblem] = field(default_factory=list)


def read_prompt_file(path: Path, *, modality: str, n: int) -> tuple[list[PromptLine], list[LineProblem]]:
    """Parse every line; return the good ones and a problem per bad one (blank lines are skipped)."""
    # 1. The file as a whole: unreadable is an error, not a line problem.
    _check_n(n)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except UnicodeDecodeError as error:
        raise PromptFileError(f"{path} is not UTF-8 text: {error.reason}") from error
    except OSError as error:
        raise PromptFileError(f"cannot read {path}: {error.strerror or error}") from error
    # 2. Each line on its own.
    good: list[PromptLine] = []
    problems: list[LineProblem] = []
    for number, raw in enumerate(text.splitlines(), start=1):
        if not raw.strip():
            continue
        try:
            good.append(parse_line(raw, number, modality=modality, n=n))
        except InvalidParameterError as error:
            problems.append(LineProblem(number, str(error)))
    return good, problems


def parse_line(raw: str, number: int, *, modality: str, n: int) -> PromptLine:
    """One JSON line to a PromptLine; raises InvalidParameterError saying what is wrong."""
    try:
        record = json.loads(raw)
    except json.JSONDecodeError as error:
        raise InvalidParameterError(f"not valid JSON ({error.msg} at column {error.colno})") from error
    if not isinstance(record, dict):
        raise InvalidParameterError('expected a JSON object like {"prompt": "..."}')
    prompt = record.get("prompt")
    if not isinstance(prompt, str):
        raise InvalidParameterError('no "prompt" text')
    if not prompt.strip():
        raise InvalidParameterError("the prompt is empty")
    params = build_params(modality, record.get("params") or {}, n)
    return PromptLine(number, prompt.strip(), params)


def build_params(modality: str, given: Any, n: int) -> TextParams | ImageParams:
    """TextParams / ImageParams from a line's `params` object, type-checked and validated."""
    cls = PARAMS[modality]
    if not isinstance(given, dict):
        raise InvalidParameterError('"params" must be a JSON object')
    if "n" in given:
        raise InvalidParameterError('"n" cannot be set per line: use --n')
    defaults = {f.name: f.default for f in fields(cls)}
    unknown = sorted(set(given) - set(defaults))
    if unknown:
        known = ", ".join(name for name in defaults if name != "n")
        raise InvalidParameterError(f"unknown parameter {unknown[0]!r} for {modality}; known: {known}")
    values = {name: _typed(name, value, defaults[name]) for name, value in given.items()}
    return cls(**values, n=n).validate()


def generate_all(context: AppContext, lines: Iterable[PromptLine], *, modality: str) -> BulkReport:
    """Generate and record every line with a progress bar; a failing line is reported, not fatal."""
    report = BulkReport()
    lines = list(lines)
    with tqdm(lines, desc=f"generating {modality}", unit="prompt", file=sys.stderr) as bar:
        for line in bar:
            try:
                report.request_ids.append(generate_one(context, line, modality=modality))
            except (ModelError, FeedbackDBError) as error:
                report.problems.append(LineProblem(line.line, str(error)))
    return report


def generate_one(context: AppContext, line: PromptLine, *, modality: str) -> int:
    """Run one prompt through the UI's generation path; return the recorded request id."""
    # `parse_line` built the line's params for this modality.
    updates: Iterator[TextUpdate | ImageUpdate]
    if modality == "text":
        updates = stream_text(context, None, line.prompt, cast(TextParams, line.params), source="bulk")
    else:
        updates = stream_image(context, None, line.prompt, cast(ImageParams, line.params), source="bulk")
    recorded = None
    for update in updates:
        recorded = update.recorded or recorded
    if recorded is None:
        raise IncompleteGenerationError("generation ended without recording its request")
    return recorded.request_id


def generate_from_file(context: AppContext, path: Path, *, modality: str, n: int) -> BulkReport:
    """Read, check and generate a whole prompt file; problems come back sorted by line."""
    lines, problems = read_prompt_file(path, modality=modality, n=n)
    report = generate_all(context, lines, modality=modality) if lines else BulkReport()
    report.problems = sorted(problems + report.problems, key=lambda p: p.line)
    return report


def _check_n(n: int) -> None:
    if not 1 <= n <= MAX_CANDIDATES:
        raise InvalidParameterError(f"--n must be between 1 and {MAX_CANDIDATES}, got {n}")


def _typed(name: str, value: Any, default: Any) -> Any:
    """Check a JSON value against the type of the field's default (None means an optional int)."""
    if name == "stop":
        if not isinstance(value, list) or not all(isinstance(s, str) for s in value):
            raise InvalidParameterError('"stop" must be a list of strings')
        return tuple(value)
    if isinstance(value, bool):
        raise InvalidParameterError(f"{name} must be a number, got {json.dumps(value)}")
    if isinstance(default, str):
        if not isinstance(value, str):
            raise InvalidParameterError(f"{name} must be text")
        return value
    if isinstance(default, float):
        if not isinstance(value, (int, float)):
            raise InvalidParameterError(f"{name} must be a number, got {json.dumps(value)}")
        return float(value)
    if value is None and default is None:
        return None
    if not isinstance(value, int):
        raise InvalidParameterError(f"{name} must be a whole number, got {json.dumps(value)}")
    return value
