"""A candidate's text shaded by how sure the model was of each token: pure functions from tokens
(models.base.TokenConfidence) to HTML, no Gradio.

Three bands, told apart by underline style as well as by tint (never colour alone): sure
(probability 0.8 or more) plain; unsure (0.4 up to 0.8) a dotted underline on a light tint;
doubtful (under 0.4) a wavy underline on a stronger tint (assets/style.css, `.tok-*`). Each
token carries its own tooltip - its probability and the model's other likely tokens - shown by
CSS on hover, and on keyboard focus for the shaded ones, which are Tab stops. Every token and
alternative is escaped here: the view is a `gr.HTML`, which the browser reads as markup, so
markup in a model's output is shown, never run.

The HTML is a run of spans with no wrapper, and a token's span depends on that token only: a
streamed answer's HTML grows by appending, which Gradio sends as the appended part only.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from typing import Literal

from models.base import CONFIDENCE_ALTERNATIVES, TokenConfidence

Band = Literal["high", "mid", "low"]
HIGH = 0.8  # and above: sure, shown plain
MEDIUM = 0.4  # and above (below HIGH): unsure; below: doubtful
BAND_WORDS: dict[Band, str] = {"high": "sure", "mid": "unsure", "low": "doubtful"}
# How the legend says each band: its range, and how it looks.
BAND_LOOKS: dict[Band, str] = {"high": "0.8 or more, plain", "mid": "0.4 to 0.8, dotted", "low": "under 0.4, wavy"}
Piece = tuple[str, TokenConfidence | None]  # a stretch of the text, and the token it is (None: plain)


def band(probability: float) -> Band:
    if probability >= HIGH:
        return "high"
    return "mid" if probability >= MEDIUM else "low"


def probability_words(probability: float) -> str:
    """Two decimals; a probability that rounds to 0 but is not says "<0.01"."""
    return "<0.01" if 0 < probability < 0.005 else f"{probability:.2f}"


def token_words(text: str) -> str:
    """A token as a tooltip quotes it: line breaks as ↵, surrounding spaces dropped ("␣" if
    nothing else is left)."""
    return text.replace("\n", "↵").strip() or "␣"


def tip_words(token: TokenConfidence) -> str:
    """The tooltip: "p 0.42 · also: 'cat' 0.31, 'dog' 0.12" (the other likely tokens, most
    likely first, the chosen one left out)."""
    head = f"p {probability_words(token.probability)}"
    others = [(text, p) for text, p in token.alternatives if text != token.text][:CONFIDENCE_ALTERNATIVES]
    if not others:
        return head
    return head + " · also: " + ", ".join(f"'{token_words(text)}' {probability_words(p)}" for text, p in others)


def aligned(tokens: Sequence[TokenConfidence], text: str | None) -> list[Piece]:
    """`text` cut into the tokens it is made of and plain stretches, so that the view shows the
    text exactly whatever the tokens say: a text longer than its tokens (an answer continued
    from stored words) has its head plain; one cut inside a token (a stop sequence) ends with
    that token's part; from a token that does not match on, the rest is plain."""
    # 1. Where the tokens start: at the end of the text's head that they do not cover, if any.
    joined = "".join(token.text for token in tokens)
    text = joined if text is None else text
    start = len(text) - len(joined) if joined and text.endswith(joined) else 0
    pieces: list[Piece] = [(text[:start], None)] if start else []
    # 2. Each token in turn while the text goes on with it.
    at = start
    for token in tokens:
        part = text[at : at + len(token.text)]
        if not part or (part != token.text and not (at + len(part) == len(text) and token.text.startswith(part))):
            break
        pieces.append((part, token))
        at += len(part)
    # 3. What is left, plain.
    return pieces + ([(text[at:], None)] if at < len(text) else [])


def _escaped(text: str) -> str:
    """Text as HTML text (not an attribute value: quotes stay as they are, a smaller stream)."""
    return html.escape(text, quote=False)


def token_html(text: str, token: TokenConfidence, tip_id: str) -> str:
    """One token: its spaces plain, its word in a span with its band and its tooltip. A shaded
    word is a Tab stop, described by its tooltip (role "term": named by its own text)."""
    word = text.strip()
    if not word:
        return _escaped(text)
    kind = band(token.probability)
    focus = f' tabindex="0" role="term" aria-describedby="{tip_id}"' if kind != "high" else ""
    tip = f'<span class="tok-tip" id="{tip_id}" role="tooltip">{_escaped(tip_words(token))}</span>'
    lead, trail = text[: len(text) - len(text.lstrip())], text[len(text.rstrip()) :]
    return f'{_escaped(lead)}<span class="tok tok-{kind}"{focus}>{_escaped(word)}{tip}</span>{_escaped(trail)}'


def confidence_html(tokens: Sequence[TokenConfidence] | None, text: str | None = None, *, prefix: str = "tok") -> str:
    """`text` (by default the tokens' own text) with its tokens shaded; "" where there are no
    tokens (no confidence reported: the card shows its text as usual). `prefix` keeps the
    tooltips' ids unique in the page (one per card)."""
    if not tokens:
        return ""
    out: list[str] = []
    for index, (part, token) in enumerate(aligned(tokens, text)):
        out.append(_escaped(part) if token is None else token_html(part, token, f"{prefix}-tip-{index}"))
    return "".join(out)


def legend_html() -> str:
    """What the shades mean, with a sample of each (not Tab stops: they explain, they are not text)."""
    samples = " · ".join(f'<span class="tok tok-{kind}">{BAND_WORDS[kind]}</span> ({looks})' for kind, looks in BAND_LOOKS.items())
    return (
        f'<p class="confidence-legend-text"><strong>Model confidence per word:</strong> {samples}. '
        "Hover over a word, or Tab to a shaded one, for its probability and the model's other likely words.</p>"
    )
