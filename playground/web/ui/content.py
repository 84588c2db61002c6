"""Static content for the UI: rating guidelines (one-line meanings) and example prompts."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

AXES = ("naturalness", "reliability", "diversity")
_SCORE_LINE = re.compile(r"^- \*\*([1-5])\*\* — ([^:]+):")


@dataclass(frozen=True)
class Guidelines:
    markdown: str
    # axis -> {score: short meaning}, e.g. {"naturalness": {1: "Broken", 3: ..., 5: ...}}
    meanings: dict[str, dict[int, str]]

    def one_line(self, axis: str) -> str:
        """E.g. "1 Broken · 3 Understandable but awkward · 5 Fluent and natural"."""
        return " · ".join(f"{score} {text}" for score, text in sorted(self.meanings[axis].items()))


def load_guidelines(assets_dir: Path) -> Guidelines:
    """Parse `assets/guidelines.md`: a `## Axis` heading, then `- **N** — Meaning: detail` lines."""
    markdown = (assets_dir / "guidelines.md").read_text(encoding="utf-8")
    meanings: dict[str, dict[int, str]] = {}
    axis: str | None = None
    for line in markdown.splitlines():
        if line.startswith("## "):
            heading = line[3:].strip().lower()
            axis = heading if heading in AXES else None
        elif axis and (match := _SCORE_LINE.match(line.strip())):
            meanings.setdefault(axis, {})[int(match.group(1))] = match.group(2).strip()
    missing = [a for a in AXES if a not in meanings]
    if missing:
        raise ValueError(f"guidelines.md has no score meanings for {', '.join(missing)}")
    return Guidelines(markdown=markdown, meanings=meanings)


def load_example_prompts(assets_dir: Path) -> dict[str, list[str]]:
    prompts: dict[str, list[str]] = json.loads((assets_dir / "example_prompts.json").read_text(encoding="utf-8"))
    return prompts
