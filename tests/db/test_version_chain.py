"""The chain of versions (`feedback_db.chain.version_chain`, playground/retrain/chain.py and
playground/services/version_chain.py): on a real database, versions whose runs carry the gate's
held-out figures with and without capability figures read back as one table in words, a plot and
sentences; an older run without the capability key, or with a malformed one, shows "-"."""

from __future__ import annotations

from typing import Any

from feedback_db.chain import version_chain
from feedback_db.runs import finish_run, start_run
from feedback_db.users import create_user
from feedback_db.versions import create_version, promote_version
from playground.core.database import Database
from playground.retrain.chain import chain_table, outcome
from playground.services.version_chain import chain_caption, chain_figure, drift_words, read_version_chain, win_share

BASE = {"reference_loglik": -2.31, "exact_answers": 0.62}
TOLERANCE = {"reference_loglik": 0.15, "exact_answers": 0.05}


def held_out(wins: int, losses: int, verdict: str = "better") -> dict[str, Any]:
    return {"metric": "held-out pairs", "verdict": verdict, "wins": wins, "losses": losses, "ties": 1, "p_value": 0.02, "prompts": 20}


def capability(candidate: dict[str, float], forgets: list[str]) -> dict[str, Any]:
    return {"set": "assets/capability/text.jsonl", "items": 240, "base": BASE, "candidate": candidate, "tolerance": TOLERANCE,
            "forgets": forgets, "seconds": 41.2}  # fmt: skip


# name -> (parent, run metrics or None for a version without a run, promote it)
CHAIN: dict[str, tuple[str | None, dict[str, Any] | None, bool]] = {
    "text-v1": (None, {"decision": "promoted", "evaluation": held_out(14, 3)}, True),  # before the capability guard
    "text-v2": (
        "text-v1",
        {
            "decision": "promoted",
            "evaluation": held_out(9, 4),
            "capability": capability({"reference_loglik": -2.35, "exact_answers": 0.6}, []),
        },
        True,
    ),
    "text-v3": (
        "text-v2",
        {
            "decision": "forgets",
            "evaluation": held_out(20, 2),
            "capability": capability({"reference_loglik": -2.4, "exact_answers": 0.5}, ["exact_answers"]),
        },
        False,
    ),
    "text-v4": ("text-v2", {"decision": "rejected", "evaluation": held_out(3, 8, "not-better"), "capability": "not a mapping"}, False),
    "text-v5": ("text-v2", None, False),  # registered by hand: no run at all
}


def seed_chain(database: Database) -> int:
    """Five global text versions (the chain above), a personal one and an image one; returns the
    personal version's owner."""
    ids: dict[str, int] = {}
    with database.sessions.begin() as session:
        for name, (parent, metrics, promote) in CHAIN.items():
            run_id = None
            if metrics is not None:
                run_id = start_run(session, modality="text", data_counts={}).id
                finish_run(session, run_id=run_id, method="dpo", metrics=metrics, timings={}, report_path="r.md")
            version = create_version(
                session,
                name=name,
                modality="text",
                base_model="m",
                adapter_path=None,
                parent_id=ids.get(parent or ""),
                training_run_id=run_id,
            )
            ids[name] = version.id
            if promote:
                promote_version(session, version_id=version.id)
        owner = create_user(session, name="owner", role="end_user")
        create_version(
            session, name="text-p-1", modality="text", base_model="m", adapter_path=None, parent_id=ids["text-v2"], owner_id=owner.id
        )
        create_version(session, name="image-v1", modality="image", base_model="m", adapter_path=None)
        return owner.id


def test_the_query_reads_each_version_with_its_parent_and_run_figures(database):
    owner = seed_chain(database)
    with database.read_sessions() as session:
        links = version_chain(session, modality="text")
        personal = version_chain(session, modality="text", owner_id=owner)
        images = version_chain(session, modality="image")
    assert [link.name for link in links] == list(CHAIN)  # oldest first; no personal, no image version
    assert [link.parent for link in links] == [None, "text-v1", "text-v2", "text-v2", "text-v2"]
    assert [link.status for link in links] == ["retired", "active", "candidate", "candidate", "candidate"]
    assert [link.decision for link in links] == ["promoted", "promoted", "forgets", "rejected", None]
    assert links[0].capability is None and links[1].capability["candidate"]["exact_answers"] == 0.6
    assert links[3].capability is None and links[3].evaluation["wins"] == 3  # a malformed capability value reads as none
    assert links[4].evaluation is None and links[4].created_at is not None
    assert [outcome(link) for link in links] == ["promoted", "promoted", "refused", "refused", "waiting"]
    assert [link.name for link in personal] == ["text-p-1"] and [link.name for link in images] == ["image-v1"]


def test_the_table_says_it_in_words_and_shows_a_dash_where_nothing_was_measured(database):
    seed_chain(database)
    table = read_version_chain(database, "text").table
    assert list(table.columns) == [
        "version", "parent", "status", "trained", "decision", "held-out wins", "held-out losses",
        "reference loglik", "exact answers", "forgets",
    ]  # fmt: skip
    rows = table.set_index("version")
    assert rows.loc["text-v1", ["parent", "held-out wins", "held-out losses", "exact answers", "forgets"]].tolist() == [
        "base", "14", "3", "-", "-",
    ]  # fmt: skip
    assert rows.loc["text-v2", ["reference loglik", "exact answers", "forgets"]].tolist() == ["-2.350 (-2.310)", "0.600 (0.620)", "none"]
    assert rows.loc["text-v3", ["decision", "exact answers", "forgets"]].tolist() == ["forgets", "0.500 (0.620)", "exact answers"]
    assert rows.loc["text-v4", ["exact answers", "forgets"]].tolist() == ["-", "-"]
    assert rows.loc["text-v5", ["trained", "decision", "held-out wins", "exact answers"]].tolist()[1:] == ["-", "-", "-"]
    # Before any capability figure, the table has no capability columns at all.
    with database.read_sessions() as session:
        first = version_chain(session, modality="text")[:1]
    assert list(chain_table(first).columns)[-1] == "held-out losses"


def test_the_plot_has_a_panel_per_figure_and_the_words_say_what_drifted(database):
    seed_chain(database)
    links = read_version_chain(database, "text").links
    figure = chain_figure(links)
    assert figure is not None
    panels = [axis.get_ylabel() for axis in figure.axes]
    assert panels == ["held-out share won", "reference loglik", "exact answers"]
    ticks = [label.get_text() for label in figure.axes[-1].get_xticklabels()]
    assert ticks == list(CHAIN)
    assert win_share(links[0]) == 14 / 17 and win_share(links[4]) is None
    words = drift_words(links)
    assert words[0] == "5 versions along the chain (2 promoted, 2 refused, 1 waiting)."
    assert words[1] == "Held-out prompts won against the parent: from 27% (text-v4) to 91% (text-v3), ties left out."
    assert words[3] == (
        "exact answers: base 0.620; latest served text-v2 0.600, lowest served 0.600 (text-v2); 1 version refused for forgetting it."
    )
    assert chain_figure(()) is None and chain_caption(()).startswith("- No versions yet")
    assert "No capability figures yet" in chain_caption(links[:1])
