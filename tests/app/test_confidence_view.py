"""The shaded view of a candidate (playground/web/ui/confidence_view.py): bands, tooltips, escaping,
the text shown exactly whatever the tokens say, and the stream's updates; the service hands the
UI each candidate's confidence, none for a withheld text and no blocklisted alternative."""

from __future__ import annotations

import dataclasses
import html
import re
import threading

import pytest

from models.base import TextParams, TokenConfidence
from playground.core.moderation import Moderator
from playground.services.confidence_screen import screened
from playground.services.generation import stream_text
from playground.web.ui.confidence_view import aligned, band, confidence_html, legend_html, tip_words
from tests.fakes import FAKE_PROBABILITIES

HOSTILE = "<img src=x onerror=alert(1)>"


def token(text: str, p: float, *alternatives: tuple[str, float]) -> TokenConfidence:
    return TokenConfidence(text, p, tuple(alternatives))


def visible_text(markup: str) -> str:
    """The text a reader sees with no tooltip open: the markup less its tags and tooltips."""
    without_tips = re.sub(r'<span class="tok-tip"[^>]*>.*?</span>', "", markup)
    return html.unescape(re.sub(r"<[^>]+>", "", without_tips))


def test_three_bands_at_the_documented_edges():
    assert [band(p) for p in (1.0, 0.8, 0.79, 0.4, 0.39, 0.0)] == ["high", "high", "mid", "mid", "low", "low"]


def test_the_tooltip_gives_the_probability_and_the_others_most_likely_first():
    chosen = token(" the", 0.42, (" a", 0.5), (" the", 0.42), (" cat", 0.31), (" dog", 0.12))
    assert tip_words(chosen) == "p 0.42 · also: 'a' 0.50, 'cat' 0.31, 'dog' 0.12"
    assert tip_words(token("\n", 0.003)) == "p <0.01"
    assert tip_words(token("x", 0.9, ("\n", 0.05), (" ", 0.01))) == "p 0.90 · also: '↵' 0.05, '␣' 0.01"


def test_each_token_is_shaded_by_its_band_and_only_the_shaded_ones_are_tab_stops():
    tokens = (token("Sure", 0.95), token(" maybe", 0.5, (" perhaps", 0.3)), token(" wild", 0.1))
    markup = confidence_html(tokens, prefix="text-0-shaded")
    assert markup.count('class="tok tok-high"') == 1
    assert markup.count('class="tok tok-mid" tabindex="0" role="term" aria-describedby="text-0-shaded-tip-1"') == 1
    assert markup.count('class="tok tok-low" tabindex="0" role="term" aria-describedby="text-0-shaded-tip-2"') == 1
    assert '<span class="tok-tip" id="text-0-shaded-tip-1" role="tooltip">p 0.50 · also: \'perhaps\' 0.30</span>' in markup
    # The spaces stay outside the words' spans (an underline marks the word only).
    assert "</span> <span" in markup and visible_text(markup) == "Sure maybe wild"


def test_markup_in_tokens_and_alternatives_is_escaped_never_markup():
    tokens = (token(HOSTILE, 0.2, ("<script>alert(2)</script>", 0.3)), token(" &amp; <b>bold</b>", 0.6))
    markup = confidence_html(tokens)
    assert "<img" not in markup and "<script" not in markup and "<b>" not in markup
    assert "&lt;img src=x onerror=alert(1)&gt;" in markup and "&lt;script&gt;alert(2)&lt;/script&gt;" in markup
    assert visible_text(markup) == HOSTILE + " &amp; <b>bold</b>"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Hello world", [("Hello", "Hello"), (" world", " world")]),  # the tokens' own text
        ("Earlier words. Hello world", [("Earlier words. ", None), ("Hello", "Hello"), (" world", " world")]),  # continued
        ("Hello wo", [("Hello", "Hello"), (" wo", " world")]),  # cut inside a token (a stop sequence)
        ("Hello there", [("Hello", "Hello"), (" there", None)]),  # tokens that stop matching: the rest plain
        ("", []),
    ],
)
def test_the_text_is_shown_exactly_whatever_the_tokens_say(text, expected):
    tokens = (token("Hello", 0.9), token(" world", 0.3))
    pieces = aligned(tokens, text)
    assert [(part, t.text if t else None) for part, t in pieces] == expected
    assert "".join(part for part, _ in pieces) == text
    assert visible_text(confidence_html(tokens, text)) == text


def test_no_tokens_give_no_shaded_view():
    assert confidence_html(None, "plain text") == "" and confidence_html((), "plain text") == ""


def test_a_streamed_answer_grows_by_appending():
    tokens = tuple(token(f" w{i}", p) for i, p in enumerate((0.9, 0.5, 0.1, 0.95, 0.3)))
    views = [confidence_html(tokens[:n], prefix="text-1-shaded") for n in range(1, len(tokens) + 1)]
    assert all(later.startswith(earlier) for earlier, later in zip(views, views[1:], strict=False))


def test_the_legend_names_the_three_bands_in_words():
    legend = legend_html()
    assert all(words in legend for words in ("sure", "unsure", "doubtful", "dotted", "wavy", "Tab"))
    assert "tabindex" not in legend


def test_blocklisted_alternatives_are_left_out_of_what_is_shown():
    moderator = Moderator(blocked=("forbidden",))
    tokens = (token(" fine", 0.4, (" forbidden", 0.5), (" ok", 0.1)), token(" too", 0.9, (" also", 0.05)))
    shown = screened(moderator, tokens)
    assert shown is not None and shown[0].alternatives == ((" ok", 0.1),) and shown[1] is tokens[1]
    assert screened(Moderator(), tokens) == tokens and screened(moderator, None) is None


def test_the_stream_hands_each_candidate_its_confidence(context, fake_text):
    fake_text.confidence = True
    updates = list(stream_text(context, None, "Describe the sea", TextParams(n=2, max_new_tokens=8), threading.Event()))
    final = updates[-1]
    for update in updates[:-1]:  # the tokens so far, as many as the words shown (one word a token)
        assert [len(c) for c in update.confidence] == [len(text.split()) for text in update.texts]
    assert [t.probability for t in final.confidence[0]] == [*FAKE_PROBABILITIES, FAKE_PROBABILITIES[0], FAKE_PROBABILITIES[1]]
    assert "".join(t.text for t in final.confidence[1]) == final.texts[1]


def test_a_withheld_candidate_has_no_confidence_shown(context, fake_text):
    fake_text.confidence = True
    context = dataclasses.replace(context, moderator=Moderator(blocked=("answer1",)))  # the fake's second candidate
    updates = list(stream_text(context, None, "Describe the sea", TextParams(n=2, max_new_tokens=8), threading.Event()))
    assert updates[-1].withheld[1] is not None and updates[-1].confidence[1] == ()
    assert all(update.confidence[1] == () and update.confidence[0] for update in updates)
