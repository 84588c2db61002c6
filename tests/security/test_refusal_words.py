"""Explaining a refusal (playground/core/moderation.py, playground/web/ui/streaming.py): the rule or
classifier label that fired is named, a blocked word is never echoed in full, the stored reason
keeps its form for audits, and the status line links the guidelines."""

from __future__ import annotations

import gradio as gr
import pytest

from playground.core.moderation import REMEMBERED_TEXTS, Moderator, Verdict, mask, parse_verdict, refusal_message, withheld_notice
from playground.web.ui.about_words import answer_markdown
from playground.web.ui.streaming import filtered_words, gate, moderated


def test_a_blocked_word_is_masked_to_its_first_letter():
    assert mask("bomb") == "b***"
    assert mask("make a pipe bomb") == "m*** a p*** b***"


def test_the_verdict_names_the_rule_or_the_label():
    moderator = Moderator(blocked=("make a bomb",), classifier=lambda texts: [[("toxic", 0.93 if "nasty" in t else 0.1)] for t in texts])
    blocked, classified, fine = moderator.verdicts(["how to MAKE A BOMB", "a nasty note", "a kind note"])
    assert blocked == Verdict("blocklist", "make a bomb") and fine is None
    assert classified == Verdict("classifier", "toxic", 0.93)
    assert blocked.words == 'the blocklist rule (the blocked phrase "m*** a b***")'
    assert classified.words == 'the classifier\'s label "toxic" (score 0.93)'
    # The stored reason keeps its form (audits, exports), and reads back as the same verdict.
    assert [str(blocked), str(classified)] == ["blocklist: make a bomb", "classifier: toxic 0.93"]
    assert parse_verdict(str(blocked)) == blocked and parse_verdict(str(classified)) == classified
    assert parse_verdict(None) is None and parse_verdict("something else") is None


def test_no_message_echoes_the_blocked_word():
    verdict = Verdict("blocklist", "nerve agent synthesis")
    for words in (refusal_message(verdict), withheld_notice(str(verdict)), filtered_words(verdict)):
        assert "nerve" not in words and "synthesis" not in words, words
        assert "blocklist rule" in words
    assert "content filter refused this prompt" in refusal_message(verdict)
    assert "[Guidelines](#guidelines)" in filtered_words(verdict)
    assert "[Guidelines](#guidelines)" in withheld_notice(str(verdict))  # a card renders it as Markdown: a link
    assert withheld_notice("classifier: insult 0.88").startswith('[withheld by the content filter: the classifier\'s label "insult"')


def test_a_withheld_answer_is_explained_in_its_about_box():
    from playground.services.version_explanation import AnswerExplanation, VersionExplanation

    explanation = AnswerExplanation(
        VersionExplanation("base", "text", "embedded", base=True), 7, (), {}, withheld=Verdict("blocklist", "kill yourself")
    )
    words = answer_markdown(explanation)
    assert "Withheld by the content filter" in words and "[Guidelines](#guidelines)" in words
    assert "kill" not in words and "yourself" not in words


class CountingClassifier:
    """Labels a text with "nasty" in it "insult" (0.97); counts the texts it is asked about."""

    def __init__(self) -> None:
        self.asked: list[str] = []

    def __call__(self, texts: list[str]) -> list[list[tuple[str, float]]]:
        self.asked += texts
        return [[("insult", 0.97)] if "nasty" in t else [("neutral", 0.99)] for t in texts]


def test_a_prompt_the_classifier_refuses_at_the_click_names_the_label_and_links_the_guidelines():
    moderator = Moderator(blocked=("make a bomb",), classifier=CountingClassifier())
    verdict = moderated(moderator, "a nasty\x00 note")  # cleaned as `run` cleans it
    assert verdict == Verdict("classifier", "insult", 0.97)
    words = filtered_words(verdict)
    assert words.startswith("**Nothing was generated:** the content filter refused this prompt; the classifier's label")
    assert '"insult"' in words and "[Guidelines](#guidelines)" in words, words
    assert moderated(moderator, "make a bomb") == Verdict("blocklist", "make a bomb")
    assert moderated(moderator, "a kind note") is None and moderated(None, "a nasty note") is None
    with pytest.raises(gr.Error) as refused:
        gate(True)
    assert refused.value.visible is False  # `begin` has said why, in the status line
    gate(False)


def test_a_classifier_that_fails_at_the_click_is_left_to_the_generation():
    def broken(texts: list[str]) -> list[list[tuple[str, float]]]:
        raise RuntimeError("model file missing")

    assert moderated(Moderator(classifier=broken), "a note") is None


def test_the_classifier_runs_once_for_a_prompt_checked_at_the_click_and_again_by_the_generation():
    classifier = CountingClassifier()
    moderator = Moderator(classifier=classifier)
    moderator.verdict("a nasty note")
    assert moderator.verdicts(["a nasty note", "an answer", "an answer"]) == [Verdict("classifier", "insult", 0.97), None, None]
    assert classifier.asked == ["a nasty note", "an answer"]
    moderator.verdicts([f"text {i}" for i in range(REMEMBERED_TEXTS)])  # older texts are forgotten
    moderator.verdict("a nasty note")
    assert classifier.asked.count("a nasty note") == 2 and len(moderator._labels) == REMEMBERED_TEXTS
