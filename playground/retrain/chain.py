"""The chain of versions as a table in words: per version its parent, the gate's held-out figures
and the capability figures against the base model.

The retrain report shows it with tonight's candidate at the end, and `playground versions list
--chain` and the Insights tab show it for the versions so far (playground/services/version_chain.py
adds the plot). A version whose run recorded no capability figures (runs before the capability
guard) shows "-" in those columns.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict
from typing import Any, Literal

import pandas as pd

from feedback_db.chain import ChainLink, version_chain
from feedback_db.schema import utcnow
from models.base import BASE_VERSION, Modality
from models.finetune.evaluate import Evaluation
from playground.core.database import Database

Outcome = Literal["promoted", "refused", "waiting"]
Side = Literal["candidate", "base", "tolerance"]  # the capability figures' sides (TrainingRun.metrics["capability"])
REFUSED = ("rejected", "forgets")  # the run outcomes that refuse a candidate for good
MISSING = "-"
COLUMNS = ("version", "parent", "status", "trained", "decision", "held-out wins", "held-out losses")
EXPLAINED = (
    "Held-out: prompts on which the version beat or lost to its parent. Capability columns: the version's "
    "figure, the base model's in brackets; forgets: the figures that fell past their tolerance below the base. "
    "'-': not measured (runs before the capability guard)."
)


def report_chain(
    database: Database,
    modality: Modality,
    owner_id: int | None,
    name: str,
    parent: str,
    decision: str,
    evaluation: Evaluation,
    *,
    capability: dict[str, Any] | None = None,
) -> tuple[ChainLink, ...]:
    """The versions so far (the owner's personal ones, with `owner_id`) and tonight's candidate
    last, as the retrain report shows them; `capability`: its figures where measured (the
    contract of `TrainingRun.metrics["capability"]`)."""
    with database.read_sessions() as session:
        links = version_chain(session, modality=modality, owner_id=owner_id)
    now = utcnow()
    held_out = {key: value for key, value in asdict(evaluation).items() if key != "details"}
    tonight = ChainLink(
        name=name,
        parent=None if parent == BASE_VERSION else parent,
        status="active" if decision == "promoted" else "retired" if decision == "forgets" else "candidate",
        created_at=now,
        promoted_at=now if decision == "promoted" else None,
        decision=decision,
        evaluation=held_out,
        capability=capability,
    )
    return (*links, tonight)


def outcome(link: ChainLink) -> Outcome:
    """promoted: ever served; refused: rejected, forgets or retired unserved; waiting: still a candidate."""
    if link.promoted_at is not None:
        return "promoted"
    if link.decision in REFUSED or link.status == "retired":
        return "refused"
    return "waiting"


def capability_metrics(links: Sequence[ChainLink]) -> list[str]:
    """The capability metrics any version was measured on, in the order first seen."""
    names: dict[str, None] = {}
    for link in links:
        names.update(dict.fromkeys(_figures(link, "candidate")))
    return list(names)


def chain_table(links: Sequence[ChainLink]) -> pd.DataFrame:
    """One row per version, oldest first; one column per capability metric ("candidate (base)")."""
    metrics = capability_metrics(links)
    columns = [*COLUMNS, *(metric_words(m) for m in metrics), *(["forgets"] if metrics else [])]
    rows = [_row(link, metrics) for link in links]
    return pd.DataFrame(rows, columns=columns)


def metric_words(metric: str) -> str:
    return metric.replace("_", " ")


def held_out(link: ChainLink, key: str) -> int | None:
    value = (link.evaluation or {}).get(key)
    return int(value) if isinstance(value, int | float) else None


def figure_of(link: ChainLink, side: Side, metric: str) -> float | None:
    value = _figures(link, side).get(metric)
    return float(value) if isinstance(value, int | float) else None


def _figures(link: ChainLink, side: Side) -> dict[str, Any]:
    figures = (link.capability or {}).get(side)
    return figures if isinstance(figures, dict) else {}


def _row(link: ChainLink, metrics: list[str]) -> list[Any]:
    trained = f"{link.created_at:%Y-%m-%d %H:%M}" if link.created_at else MISSING
    wins, losses = held_out(link, "wins"), held_out(link, "losses")
    row: list[Any] = [link.name, link.parent or BASE_VERSION, link.status, trained, link.decision or MISSING]
    row += [MISSING if wins is None else str(wins), MISSING if losses is None else str(losses)]
    row += [_capability_cell(link, metric) for metric in metrics]
    if metrics:
        row.append(_forgets_cell(link))
    return row


def _capability_cell(link: ChainLink, metric: str) -> str:
    candidate, base = figure_of(link, "candidate", metric), figure_of(link, "base", metric)
    if candidate is None:
        return MISSING
    return f"{candidate:.3f}" + (f" ({base:.3f})" if base is not None else "")


def _forgets_cell(link: ChainLink) -> str:
    if link.capability is None:
        return MISSING
    forgets = link.capability.get("forgets")
    if not isinstance(forgets, list):
        return MISSING
    return ", ".join(metric_words(str(name)) for name in forgets) or "none"
