"""The retrain report's "The chain" section: the versions so far and tonight's candidate last, with
their parents, held-out wins and losses and capability figures against the base model (`report_chain`,
the call `train_and_gate` makes before writing the report)."""

from __future__ import annotations

import json
from pathlib import Path

from models.finetune.evaluate import Evaluation
from models.finetune.text import TrainResult
from playground.core.settings import Settings
from playground.retrain.behaviour import BehaviourComparison
from playground.retrain.chain import report_chain
from playground.retrain.report import ReportInputs, write_report
from tests.db.test_version_chain import capability, seed_chain

EVALUATION = Evaluation(
    metric="held-out pairs: reward margin per prompt",
    test="one-sided sign test",
    verdict="better",
    p_value=0.004,
    prompts=19,
    wins=15,
    losses=3,
    ties=1,
    rows=40,
    old={"preference_accuracy": 0.5},
    new={"preference_accuracy": 0.8},
    reason="15 of 18 held-out prompts improved",
)


def inputs(chain: tuple = (), decision: str = "forgets") -> ReportInputs:
    training = TrainResult("dpo", Path("/tmp/adapter"), examples=40, steps=8, seconds=3.0, train_loss=0.6, config={})
    return ReportInputs(
        "text-v6",
        "text",
        "text-v2",
        decision,
        False,
        {"pairs": 40},
        training,
        EVALUATION,
        BehaviourComparison(0, {}, {}),
        {},
        {},
        chain=chain,
    )


def test_the_report_shows_the_chain_with_tonights_candidate_last(database, tmp_path):
    seed_chain(database)
    figures = capability({"reference_loglik": -2.3, "exact_answers": 0.55}, ["exact_answers"])
    chain = report_chain(database, "text", None, "text-v6", "text-v2", "forgets", EVALUATION, capability=figures)
    assert [link.name for link in chain] == ["text-v1", "text-v2", "text-v3", "text-v4", "text-v5", "text-v6"]

    path = write_report(tmp_path, inputs(chain))

    markdown = path.read_text()
    section = markdown.split("## The chain", 1)[1].split("## Sampling defaults", 1)[0]
    assert "the base model's in brackets" in section
    table = [line for line in section.splitlines() if line.startswith("|")]
    assert table[0].startswith("| version | parent | status | trained | decision | held-out wins | held-out losses |")
    assert table[0].endswith("| reference loglik | exact answers | forgets |")
    assert [row.split(" | ")[0] for row in table[2:]] == [f"| text-v{n}" for n in range(1, 7)]
    tonight = table[-1]
    assert "| text-v2 | retired |" in tonight and "| forgets | 15 | 3 | -2.300 (-2.310) | 0.550 (0.620) | exact answers |" in tonight
    assert "| text-v1 | base | retired |" in table[2] and table[2].endswith("| - | - | - |")  # before the capability guard
    data = json.loads(path.with_suffix(".json").read_text())
    assert [link["name"] for link in data["chain"]] == [f"text-v{n}" for n in range(1, 7)]
    assert data["chain"][-1]["evaluation"]["wins"] == 15 and "details" not in data["chain"][-1]["evaluation"]


def test_a_promoted_candidate_is_active_and_a_report_without_a_chain_has_no_section(database, tmp_path):
    (tonight,) = report_chain(database, "image", None, "image-v1", "base", "promoted", EVALUATION)
    assert (tonight.parent, tonight.status, tonight.capability) == (None, "active", None)
    assert tonight.promoted_at is not None
    path = write_report(tmp_path, inputs())
    assert "## The chain" not in path.read_text()
    assert json.loads(path.with_suffix(".json").read_text())["chain"] == []


def test_playground_report_shows_the_chain_and_the_feedback_drift(database, tmp_path):
    """`playground report` (the nightly mail) carries the same chain as the Insights tab: the
    sentences, the table with the capability figures and the plot; then the feedback drift."""
    from playground.services.report import build_report
    from playground.services.report import write_report as write_markdown

    seed_chain(database)
    settings = Settings(data_dir=tmp_path / "data", device="cpu")
    report = build_report(database, settings, modalities=("text", "image"), since=None, rounds=0)
    text = report.markdown.split("## Text", 1)[1].split("## Image", 1)[0]
    chain = text.split("### Versions along the chain", 1)[1].split("### Feedback drift", 1)[0]
    assert "versions along the chain" in chain and "exact answers: base" in chain
    rows = [line.split(" | ")[0] for line in chain.splitlines() if line.startswith("| text-v")]
    assert rows == [f"| text-v{n}" for n in range(1, 6)]  # global versions only, oldest first
    assert "![text versions along the chain](text-chain.png)" in chain
    assert "### Feedback drift" in text
    out = write_markdown(report, tmp_path / "report")
    assert (out.parent / "text-chain.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
