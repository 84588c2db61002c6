"""The architecture's rules, checked on the source: the three packages import one way
(`playground` wires `models` and `feedback_db`, which never import each other nor it), playground
imports down its layers (web -> services -> serving/retrain -> core), there is no import cycle,
every module imports alone, and no SQL is built outside `feedback_db` (the app calls named
queries; see docs/ARCHITECTURE.md)."""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("playground", "models", "feedback_db")


def module_names(package: str) -> list[str]:
    names = []
    for path in sorted((ROOT / package).rglob("*.py")):
        if "migrations" in path.parts:
            continue
        parts = path.relative_to(ROOT).with_suffix("").parts
        names.append(".".join(parts[:-1] if parts[-1] == "__init__" else parts))
    return names


def imports_of(module: str, known: set[str]) -> set[str]:
    """Every project module `module` imports, at the top or inside functions (a lazy import
    still closes a cycle: it only hides it until the function runs)."""
    path = ROOT / Path(*module.split("."))
    path = path / "__init__.py" if path.is_dir() else path.with_suffix(".py")
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            targets = [node.module] + [f"{node.module}.{alias.name}" for alias in node.names]
        elif isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        else:
            continue
        found |= {t for t in targets if t in known and t != module}
    return found


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}  # 1 = on the current path, 2 = done

    def visit(node: str, path: list[str]) -> list[str] | None:
        state[node] = 1
        for target in sorted(graph[node]):
            if state.get(target) == 1:
                return path[path.index(target) :] + [target] if target in path else [node, target]
            if target not in state and (cycle := visit(target, path + [target])):
                return cycle
        state[node] = 2
        return None

    for start in sorted(graph):
        if start not in state and (cycle := visit(start, [start])):
            return cycle
    return None


def test_the_project_import_graph_has_no_cycle():
    known = {name for package in PACKAGES for name in module_names(package)}
    # A package's __init__ importing its own submodules is how re-exports work, not a cycle.
    graph = {m: {t for t in imports_of(m, known) if not (m in known and t.startswith(m + "."))} for m in known}
    assert find_cycle(graph) is None, " -> ".join(find_cycle(graph))


def test_the_cycle_finder_finds_a_cycle():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


def test_the_three_packages_import_one_way():
    known = {name for package in PACKAGES for name in module_names(package)}
    for module in known:
        targets = {t.split(".")[0] for t in imports_of(module, known)}
        if module.startswith("models"):
            assert targets <= {"models"}, module
        if module.startswith("feedback_db"):
            assert targets <= {"feedback_db"}, module


# playground's layers, lowest first: a module imports its own package and the layers below, never
# one above or beside it (docs/ARCHITECTURE.md, "Layout"). cli is the top: it wires everything.
LAYERS = {"core": 1, "serving": 2, "retrain": 2, "services": 3, "web": 4, "cli": 5}


def layer_violations(module: str, targets: set[str]) -> list[str]:
    """The imports of `module` (a playground.<layer>... name) that go up or sideways."""
    parts = module.split(".")
    if len(parts) < 3 or parts[0] != "playground":
        return []  # playground/__init__ and __main__ (the CLI entry) sit above the layers
    own = parts[1]
    found = []
    for target in sorted(targets):
        other = target.split(".")
        if other[0] == "playground" and len(other) > 1 and other[1] != own and LAYERS.get(other[1], 99) >= LAYERS[own]:
            found.append(f"{module} -> {target}")
    return found


def test_playground_imports_down_its_layers_only():
    known = {name for package in PACKAGES for name in module_names(package)}
    modules = [m for m in known if m.startswith("playground.")]
    assert {m.split(".")[1] for m in modules if m.count(".") >= 2} == set(LAYERS), "a layer package was added or removed"
    offenders = [v for module in sorted(modules) for v in layer_violations(module, imports_of(module, known))]
    assert not offenders, offenders


def test_the_layer_check_finds_a_planted_violation():
    assert layer_violations("playground.core.settings", {"playground.web.origins"}) == [
        "playground.core.settings -> playground.web.origins"
    ]
    assert layer_violations("playground.serving.context", {"playground.retrain.run"}) == [
        "playground.serving.context -> playground.retrain.run"
    ]
    assert layer_violations("playground.services.generation", {"playground.serving.context", "playground.core.errors"}) == []
    assert layer_violations("playground.web.app", {"playground.web.ui.arena", "models.base"}) == []


# What builds SQL: SQLAlchemy's statement constructors, and running statements on a session.
SQL_CONSTRUCTORS = {"select", "delete", "insert", "update", "func", "text", "and_", "or_", "union"}
SQL_RUNNERS = {"execute", "scalar", "scalars"}


def sql_built_in(source: str, filename: str = "<source>") -> list[str]:
    """Where `source` builds or runs SQL itself: 'line: what'."""
    found = []
    for node in ast.walk(ast.parse(source, filename)):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("sqlalchemy"):
            found += [f"{node.lineno}: imports sqlalchemy's {a.name}" for a in node.names if a.name in SQL_CONSTRUCTORS]
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in SQL_RUNNERS:
            found.append(f"{node.lineno}: calls .{node.func.attr}()")
    return found


def test_no_sql_is_built_outside_feedback_db():
    offenders = {}
    for module in module_names("playground"):
        path = ROOT / Path(*module.split("."))
        path = path / "__init__.py" if path.is_dir() else path.with_suffix(".py")
        if found := sql_built_in(path.read_text(), str(path)):
            offenders[module] = found
    assert not offenders, offenders


def test_the_sql_check_finds_a_planted_query():
    planted = (
        "from sqlalchemy import select\n"
        "def owner(session, request_id):\n"
        "    return session.scalar(select(Request.session_id).where(Request.id == request_id))\n"
    )
    assert sql_built_in(planted) == ["1: imports sqlalchemy's select", "3: calls .scalar()"]
    # Gradio's `tab.select(...)` event and a named query are not SQL.
    assert sql_built_in("tab.select(fn=f)\nrow = request_session(session, request_id=1)\n") == []


def test_both_packages_spell_the_modalities_alike():
    from typing import get_args

    from feedback_db.schema import MODALITIES as DATABASE_MODALITIES
    from models.base import Modality

    assert get_args(Modality) == DATABASE_MODALITIES


def third_party_imports(modules: list[str]) -> list[str]:
    """The top-level names of what `modules` import from outside the project, in order seen."""
    names: dict[str, None] = {}
    for module in modules:
        path = ROOT / Path(*module.split("."))
        path = path / "__init__.py" if path.is_dir() else path.with_suffix(".py")
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names[node.module.split(".")[0]] = None
            elif isinstance(node, ast.Import):
                names.update((alias.name.split(".")[0], None) for alias in node.names)
    return [name for name in names if name not in (*PACKAGES, "tests", "__future__")]


@pytest.mark.slow  # a fresh interpreter per module: about a minute of both cores; `make test` runs it
@pytest.mark.parametrize("package", ["playground"])
def test_every_module_imports_alone_in_a_fresh_interpreter(package):
    """Each module is imported with none of the project's modules loaded before it (in a child
    forked from an interpreter that holds only the third-party libraries: tests/import_alone.py)."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "GRADIO_ANALYTICS_ENABLED": "False", "HF_HUB_OFFLINE": "1"}
    modules = [m for m in module_names(package) if not m.endswith("__main__")]  # that one runs the CLI
    done = subprocess.run(
        [sys.executable, str(ROOT / "tests" / "import_alone.py"), *modules],
        input="\n".join(third_party_imports(modules)),
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout == "", done.stdout


def test_the_import_check_finds_a_module_that_does_not_import_alone(tmp_path):
    """A planted cycle: `a` imports `b`, which needs a name `a` defines after that import."""
    (tmp_path / "a.py").write_text("import b\nVALUE = 1\n")
    (tmp_path / "b.py").write_text("from a import VALUE\n")
    (tmp_path / "fine.py").write_text("import json\n")
    env = {**os.environ, "PYTHONPATH": str(tmp_path)}
    done = subprocess.run(
        [sys.executable, str(ROOT / "tests" / "import_alone.py"), "a", "fine"],
        input="json\n",
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    failed = [line.split("\t")[0] for line in done.stdout.splitlines()]
    assert failed == ["a"], done.stdout
    assert "ImportError" in done.stdout
