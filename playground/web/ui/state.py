"""The request a page shows, as the page's server-side state (a gr.State, never sent to the
browser): which request, and which output sits in each card, so a rating names the right row."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from feedback_db.errors import InvalidInputError
from playground.core.errors import StaleRequestError
from playground.web.ui.values import score_value


@dataclass(frozen=True)
class ShownRequest:
    request_id: int
    output_ids: tuple[int, ...]

    @classmethod
    def of(cls, request_id: int, output_ids: list[int] | tuple[int, ...]) -> ShownRequest:
        return cls(int(request_id), tuple(int(i) for i in output_ids))

    def with_output(self, index: int, output_id: int) -> ShownRequest:
        """The same request with card `index` showing `output_id` (a regenerated card)."""
        ids = list(self.output_ids)
        ids[index] = int(output_id)
        return ShownRequest(self.request_id, tuple(ids))


def output_id_for(shown: ShownRequest | None, index: Any) -> int:
    """The database id of the output shown in card `index`."""
    if shown is None or not shown.output_ids:
        raise StaleRequestError("there is no candidate here to rate yet: generate first")
    count = len(shown.output_ids)
    position = score_value("the candidate index", index, low=0, high=count - 1)
    if position is None:
        raise InvalidInputError(f"give a candidate index from 0 to {count - 1}")
    return shown.output_ids[position]


def request_id_for(shown: ShownRequest | None) -> int:
    if shown is None:
        raise StaleRequestError("there are no candidates to rate yet: generate first")
    return shown.request_id
