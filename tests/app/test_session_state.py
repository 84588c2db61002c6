"""A new browser session builds its components' configs only when an event or a deep link needs
them (playground/web/session_state.py), and then the same configs as Gradio's own SessionState."""

from __future__ import annotations

import orjson
from gradio.state_holder import SessionState
from gradio_client import Client

from playground.web.app import build_app
from playground.web.session_state import LazySessionState
from tests.launch import serving


def _as_json(components) -> bytes:
    # As GET /gradio_api/deep_link serialises them.
    return orjson.dumps(list(components), option=orjson.OPT_SERIALIZE_NUMPY | orjson.OPT_PASSTHROUGH_DATETIME, default=str)


def test_a_deep_link_sees_the_configs_gradios_constructor_builds(context):
    app = build_app(context)
    # 1. A new session has built nothing; Gradio's builds a config for every block.
    lazy, eager = LazySessionState(app), SessionState(app)
    assert lazy.config_values == {}
    assert len(eager.config_values) > 500
    # 2. An event's update builds only its own block's config.
    block_id = next(iter(eager.config_values))
    for state in (lazy, eager):
        state._update_value_in_config(block_id, "changed by an event")
    assert list(lazy.config_values) == [block_id]
    # 3. A deep link sees every config, the same as Gradio's, in the same order, with the update.
    assert _as_json(lazy.components) == _as_json(eager.components)
    assert b"changed by an event" in _as_json(lazy.components)


def test_the_served_app_gives_each_browser_a_lazy_session(context):
    app = build_app(context)
    app.queue(max_size=context.settings.max_queue_size)
    with serving(app, context.settings) as url:
        # 1. A browser's generation and rating go through the queue with its session.
        client = Client(url, verbose=False)
        client.predict("hello world", 2, 16, 0.7, 0.9, 1.1, 3, "", api_name="/generate_text")
        assert client.predict(0, 4, 5, None, "nice", api_name="/rate_text").startswith("Saved")
        # 2. Its state is lazy, with configs for the blocks those events touched, not all of them.
        state = app.state_holder[client.session_hash]
        assert isinstance(state, LazySessionState)
        assert 0 < len(state.config_values) < len(app.blocks) / 2
