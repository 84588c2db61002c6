"""Explaining a refusal (playground/core/moderation.py, playground/web/ui/streaming.py): the rule or
classifier label that fired is named, a blocked word is never echoed in full, the stored reason
keeps its form for audits, and the status line links the guidelines."""

from __future__ import annotations

from playground.core.moderation import Moderator, Verdict, mask, parse_verdict, refusal_message, withheld_notice
from playground.web.ui.about_words import answer_markdown
from playground.web.ui.streaming import filtered_words


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
