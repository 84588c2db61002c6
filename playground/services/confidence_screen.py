"""Token confidence as shown: the alternatives a model weighed are words it did not write, so
the content filter's blocklist has not seen them. A blocklisted alternative is left out of what a
tooltip shows (the chosen tokens are the text, which the filter checks on its own)."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

from models.base import TokenConfidence
from playground.core.moderation import Moderator


def screened(moderator: Moderator, tokens: Sequence[TokenConfidence] | None) -> tuple[TokenConfidence, ...] | None:
    """`tokens` with every blocklisted alternative left out; None stays None. One blocklist search
    over all the alternatives at once when none is blocked (the usual case, every streamed update)."""
    if tokens is None:
        return None
    tokens = tuple(tokens)
    every = "\n".join(text for token in tokens for text, _ in token.alternatives)
    if moderator.blocklisted(every) is None:
        return tokens
    return tuple(_without_blocked(moderator, token) for token in tokens)


def _without_blocked(moderator: Moderator, token: TokenConfidence) -> TokenConfidence:
    kept = tuple((text, p) for text, p in token.alternatives if moderator.blocklisted(text) is None)
    return token if len(kept) == len(token.alternatives) else dataclasses.replace(token, alternatives=kept)
