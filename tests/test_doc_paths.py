"""Every repository path the docs name exists (README.md and docs/*.md): a doc that names a file
that moved or went is wrong, however well it reads."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TOP = ("playground", "models", "feedback_db", "tests", "docs", "assets", ".ci")
# A path: one of the top folders, then name parts (a trailing ".py", ".md"... included).
TOPS = "|".join(re.escape(t) for t in TOP)
PATH = re.compile(rf"(?<![\w./-])((?:{TOPS})/[\w./-]*[\w/])")


def named_paths(text: str) -> set[str]:
    found = set()
    for match in PATH.finditer(text):
        path = match.group(1).rstrip("/.")
        if any(c in path for c in "*<>{}"):  # patterns and placeholders, not paths
            continue
        found.add(path)
    return found


def module_or_path_exists(path: str) -> bool:
    """A file or folder, or a dotted module written with slashes' help (`playground/retrain`)."""
    target = ROOT / path
    return target.exists() or target.with_suffix(".py").exists()


def test_every_path_the_docs_name_exists():
    docs = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
    missing = {}
    for doc in docs:
        gone = sorted(p for p in named_paths(doc.read_text()) if not module_or_path_exists(p))
        if gone:
            missing[doc.name] = gone
    assert not missing, missing


def test_the_path_finder_sees_paths_and_skips_patterns():
    text = "see `playground/retrain/run.py`, tests/retrain/ and docs/RETRAIN.md. Not models/*.py or xplayground/a"
    assert named_paths(text) == {"playground/retrain/run.py", "tests/retrain", "docs/RETRAIN.md"}
