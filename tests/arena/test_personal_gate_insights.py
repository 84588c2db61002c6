"""The personal arena gate (a personal version its owner's votes show clearly worse than the
global one is retired; one clearly better stays), what these votes do to the global gate
(nothing: they are reported as evidence about the global version), and the personal section of
the admins' Insights (counts and pooled figures; personal versions as one line of the plots)."""

from __future__ import annotations

from collections import Counter

from feedback_db.personal import served_personal_version
from feedback_db.personal_arena import global_against_personal, personal_votes
from feedback_db.schema import ModelVersion
from feedback_db.standings import arena_verdict
from feedback_db.versions import create_version, promote_version
from models.base import TextParams
from playground.cli.main import main
from playground.retrain.arena_gate import apply_arena_gate, apply_personal_arena_gate
from playground.services.generation import stream_text
from playground.services.identity import viewer_for_token
from playground.services.insights import read_insights
from playground.services.personal_insights import PERSONAL_LINE
from playground.services.ratings import rate_output
from playground.web.ui.insights import personal_markdown
from tests.arena.personal_helpers import ACTIVE, CANDIDATE, add_global, add_personal, add_run, cast_votes

LOSER, WINNER, UNSURE = "text-p-1111111111", "text-p-2222222222", "text-p-3333333333"


def owners(database, n: int) -> list[int]:
    return [viewer_for_token(database, None).user_id for _ in range(n)]


def statuses(database) -> dict[str, str]:
    with database.read_sessions() as session:
        return {v.name: v.status for v in session.query(ModelVersion)}


def test_the_personal_gate_retires_a_clearly_losing_personal_version(context, database):
    # 1. Three owners' votes on their own versions against the active global one.
    add_global(database, candidate=True)
    loser, winner, unsure, stranger = owners(database, 4)
    add_personal(database, loser, LOSER)
    add_personal(database, winner, WINNER)
    add_personal(database, unsure, UNSURE)
    cast_votes(database, loser, LOSER, ACTIVE, wins=20, losses=80)
    cast_votes(database, winner, WINNER, ACTIVE, wins=75, losses=20, ties=5)
    cast_votes(database, unsure, UNSURE, ACTIVE, wins=6, losses=4)
    # Only an owner's own votes count: a battle of its version someone else voted on is ignored.
    cast_votes(database, stranger, LOSER, ACTIVE, wins=100, losses=0)
    with database.read_sessions() as session:
        assert personal_votes(session, modality="text", owner_id=loser, version=LOSER, opponent=ACTIVE) == 100
    # 2. Too few votes: everyone waits; then the clear loser goes, the clear winner stays.
    assert apply_personal_arena_gate(database, modality="text", min_battles=200).decisions == Counter(wait=3)
    tally = apply_personal_arena_gate(database, modality="text", min_battles=50)
    assert tally.decisions == Counter(retire=1, keep=1, wait=1)
    assert statuses(database) == {ACTIVE: "active", CANDIDATE: "candidate", LOSER: "retired", WINNER: "active", UNSURE: "active"}
    # 3. Its owner is served the global version again; the others keep theirs.
    with database.read_sessions() as session:
        assert served_personal_version(session, modality="text", owner_id=loser) is None
        assert served_personal_version(session, modality="text", owner_id=winner).name == WINNER
    with context.serving("text", None, loser) as (_, served):
        assert served.name == ACTIVE
    with context.serving("text", None, winner) as (_, served):
        assert served.name == WINNER
    # 4. The global gate reads none of these votes: the candidate has no battles, the active
    #    version no losses; the pooled record is evidence about the global version, in counts.
    with database.read_sessions() as session:
        assert arena_verdict(session, modality="text", candidate=CANDIDATE, min_battles=1).result.battles == 0
    assert {a.version: a.decision for a in apply_arena_gate(database, modality="text", min_battles=1)} == {CANDIDATE: "wait"}
    pooled = tally.against_personal
    assert tally.global_version == ACTIVE and pooled.voters == 3 and pooled.result.battles == 100 + 100 + 10
    assert pooled.result.win_rate == (20 + 77.5 + 6) / 210


def test_a_new_global_version_starts_the_personal_record_afresh(database):
    add_global(database)
    (owner,) = owners(database, 1)
    add_personal(database, owner, LOSER)
    cast_votes(database, owner, LOSER, ACTIVE, wins=5, losses=95)
    with database.sessions.begin() as session:
        promote_version(session, version_id=create_version(session, name="text-v9", modality="text", base_model="m", adapter_path=None).id)
    tally = apply_personal_arena_gate(database, modality="text", min_battles=50)
    assert tally.decisions == Counter(wait=1) and statuses(database)[LOSER] == "active"  # its battles were against text-v1


def test_versions_gate_prints_the_personal_gate_in_counts_only(settings, database, capsys):
    add_global(database)
    loser, winner = owners(database, 2)
    add_personal(database, loser, LOSER)
    add_personal(database, winner, WINNER)
    cast_votes(database, loser, LOSER, ACTIVE, wins=10, losses=90)
    cast_votes(database, winner, WINNER, ACTIVE, wins=60, losses=40)
    assert main(["--data-dir", str(settings.data_dir), "versions", "gate", "--modality", "text", "--min-battles", "50"]) == 0
    out = capsys.readouterr().out
    assert "[text] personal arena gate: 2 active personal versions: 1 retired (clearly worse)" in out
    assert f"[text] {ACTIVE} against its owners' personal versions: theirs won 35%" in out and "200 votes by 2 identities" in out
    assert "text-p-" not in out
    assert statuses(database)[LOSER] == "retired"


def test_insights_count_personal_versions_and_draw_them_as_one_line(context, database, settings):
    # 1. Two identities served a personal version, one whose run was rejected, a skipped and a failed run.
    add_global(database)
    first, second, third = (viewer_for_token(database, None) for _ in range(3))
    add_personal(database, first.user_id, LOSER, rated_outputs=40)
    add_personal(database, second.user_id, WINNER, rated_outputs=60)
    add_personal(database, third.user_id, UNSURE, decision="rejected")
    add_personal(database, third.user_id, "text-p-4444444444", decision="insufficient-evidence")
    add_run(database, third.user_id, "skipped")
    add_run(database, first.user_id, "failed")
    cast_votes(database, first.user_id, LOSER, ACTIVE, wins=3, losses=7)
    cast_votes(database, second.user_id, WINNER, ACTIVE, wins=8, losses=2)
    # 2. Each owner is served its version in the playground and rates it; a third person the global one.
    for person in (first, second, third):
        final = list(stream_text(context, person, "hello", TextParams(n=1, max_new_tokens=4)))[-1].recorded
        rate_output(database, person, final.output_ids[0], naturalness=4, reliability=3)
    figures = read_insights(database, "text", data_dir=settings.data_dir)
    # 3. Per-version plots and tables: every personal version is one "personal" line (the
    #    battles' requests above were stored as the base model's).
    for frame in (figures.latency, figures.metrics):
        assert set(frame["model_version"]) == {PERSONAL_LINE, ACTIVE, "base"}, frame
    for frame in (figures.trend_version, figures.scores, figures.trend_time):
        assert set(frame["model_version"]) == {PERSONAL_LINE, ACTIVE}, frame
    assert figures.trend_version["bar"].is_unique and figures.versions == 3
    # 4. The section: counts and pooled figures.
    personal = figures.personal
    assert personal.identities == 2 and personal.mean_rated_outputs == 50
    assert {k: v for k, v in personal.runs.items() if v} == {
        "promoted": 2,
        "rejected": 1,
        "insufficient-evidence": 1,
        "skipped": 1,
        "failed": 1,
    }
    assert personal.against_global.battles == 20 and personal.against_global.win_rate == 0.55 and personal.voters == 2
    with database.read_sessions() as session:
        assert global_against_personal(session, modality="text").result == personal.against_global
    words = personal_markdown(personal)
    assert "**2 identities** served a personal version now" in words and "mean rated outputs per active personal version: 50" in words
    assert "2 promoted · 1 rejected · 1 insufficient evidence · 1 skipped · 1 failed" in words
    assert "won **55%**" in words and "of 20 ranked votes" in words and "from 2 identities" in words
    assert "text-p-" not in words
