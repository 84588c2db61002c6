"""A new browser session without building every component's config up front.

Gradio keeps one SessionState per session_hash. Its constructor (gradio/state_holder.py, 6.31)
builds the config of every block of the app into `config_values`, which Gradio reads only for a
deep link (GET /gradio_api/deep_link) and updates block by block as events touch them. Our app
has about 650 blocks: that is 90-150 ms of CPU per new browser, spent on the server's event loop
(the queue's join handler creates the state), so 100 browsers arriving at once held every stream
and every other request back for 10-15 s (docs/PERFORMANCE.md, "Streaming fan-out").

`LazySessionState` starts with no configs and builds one when Gradio first touches that block
(the update methods already build a missing one), or all of them for a deep link. What it holds
is otherwise Gradio's own SessionState; tests/app/test_session_state.py checks that a deep link
sees the same configs as Gradio's eager constructor would build.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from gradio.state_holder import SessionState, StateHolder

if TYPE_CHECKING:
    from gradio.blocks import Blocks, BlocksConfig


@dataclass(frozen=True)
class _ConfigWithoutBlocks:
    """What SessionState.__init__ reads of the Blocks, with no block to build a config for."""

    default_config: BlocksConfig
    blocks: dict[int, Any] = field(default_factory=dict)


class LazySessionState(SessionState):
    """Gradio's SessionState, each block's config built when first needed (module docstring)."""

    def __init__(self, blocks: Blocks):
        super().__init__(_ConfigWithoutBlocks(blocks.default_config))  # type: ignore[arg-type]
        self._app_block_ids = blocks.blocks.keys()  # the blocks Gradio's constructor builds

    @property
    def components(self) -> Iterator[dict[str, Any]]:
        """Every block's config (for a deep link): those not built yet are built now, in the
        order Gradio's constructor would have built them."""
        built = self.config_values
        ordered: dict[int, Any] = {}
        for block_id, block in self.blocks_config.blocks.items():
            if block_id in self._app_block_ids:
                ordered[block_id] = built[block_id] if block_id in built else self.blocks_config.config_for_block(block_id, [], block)
        self.config_values = {**ordered, **built}
        return super().components


class LazyStateHolder(StateHolder):
    """Gradio's StateHolder, whose new sessions are LazySessionStates."""

    def __init__(self) -> None:
        super().__init__()  # type: ignore[no-untyped-call]  # Gradio's is unannotated

    def __getitem__(self, session_id: str) -> SessionState:
        if session_id not in self.session_data:
            self.session_data[session_id] = LazySessionState(self.blocks)
        return super().__getitem__(session_id)
