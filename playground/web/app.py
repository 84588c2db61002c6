"""The Gradio app: header, Text and Image tabs, Annotate (log-in), guidelines; `playground serve`.

Layout only wires plain handler functions (playground.services.generation, playground.services.ratings).
All generation events share one queue (`concurrency_id="models"`), sized by
`settings.gpu_concurrency`, so the model is never asked for more than it can run at once.
"""

from __future__ import annotations

import logging
import signal
import threading
import time
from typing import Any

import gradio as gr
from fastapi import APIRouter

from feedback_db.activity import feedback_counts, request_count
from feedback_db.rating_writer import RatingWriter
from models.text_embedding import SentenceEmbedder
from playground.core.database import Database, open_database
from playground.core.settings import Settings
from playground.services.categories import TopicModel
from playground.serving.context import AppContext, build_context
from playground.serving.warmup import freeze_the_loaded_heap
from playground.web.guard import GuardState
from playground.web.rating_route import rating_router
from playground.web.server import check_proxy_trust, close_app, server_app, uvicorn_proxy_trust
from playground.web.ui.annotate import build_annotate_tab
from playground.web.ui.arena import build_arena_tab
from playground.web.ui.checked_blocks import CheckedBlocks
from playground.web.ui.content import load_example_prompts, load_guidelines
from playground.web.ui.history import build_history_tab
from playground.web.ui.image_tab import build_image_tab
from playground.web.ui.insights import build_insights_tab
from playground.web.ui.leaderboard import build_leaderboard_tab
from playground.web.ui.login import PageLogin
from playground.web.ui.my_ratings import build_my_ratings_tab
from playground.web.ui.personal_tuning import wire_tuning
from playground.web.ui.restore import wire_restore
from playground.web.ui.session import wire_identity
from playground.web.ui.text_tab import build_text_tab
from playground.web.ui.waiting import build_warmup_banner
from playground.web.ui.wording import counts_words, plural

log = logging.getLogger("playground.web.app")
DRAIN_TIMEOUT_S = 30.0

APP_NAME = "Playground"
TAGLINE = (
    "Prompt the models, compare candidates and rate them. "
    "**What your ratings do:** they train the next model version, which replaces this one "
    "only if people rate it better."
)


STATUS_REFRESH_S = 10  # the footer's counts follow new requests and ratings without a reload


def device_in_use(setting: str) -> str:
    """The device "auto" (or any setting) resolves to, e.g. `cpu` or `cuda:0`."""
    from models.base import ModelLoadError
    from models.devices import resolve_device

    try:
        device = resolve_device(setting).device
    except ModelLoadError:
        return setting
    return f"cuda:{device.index or 0}" if device.type == "cuda" else str(device)


def status_markdown(settings: Settings, database: Database, device: str | None = None) -> str:
    """A short status of what this instance serves and how much feedback it holds."""
    with database.read_sessions() as session:
        requests, counts = request_count(session), feedback_counts(session)
    return (
        f"Text model: `{settings.text_model}` · Image model: `{settings.image_model}` · "
        f"Device: `{device or device_in_use(settings.device)}` · "
        f"Feedback so far: {plural(requests, 'request')}, {counts_words(counts)}"
    )


def build_app(context: AppContext) -> gr.Blocks:
    settings = context.settings
    guidelines = load_guidelines(settings.assets_dir)
    examples = load_example_prompts(settings.assets_dir)
    app: CheckedBlocks  # Blocks.__enter__ returns the Blocks itself (untyped in Gradio)
    with CheckedBlocks(title=APP_NAME) as app:
        gr.Markdown(f"# {APP_NAME}\n{TAGLINE}", elem_id="header")
        build_warmup_banner(app, context)
        viewer = wire_identity(app, context)
        page_login = PageLogin(app, context)  # one log-in per page, shown alike in Annotate and Insights
        topics = TopicModel(SentenceEmbedder().embed)  # one MiniLM (loaded on first use) for Leaderboard and Insights
        # Wrap: on a phone every tab stays in the bar (the default hides most in a "⋯" menu).
        with gr.Tabs(overflow_behavior="wrap"):
            with gr.Tab("Text", id="text", elem_id="tab-text"):
                text_parts = build_text_tab(context, guidelines, examples["text"], viewer)
            with gr.Tab("Image", id="image", elem_id="tab-image"):
                image_parts = build_image_tab(context, guidelines, examples["image"], viewer)
            with gr.Tab("My history", id="history", elem_id="tab-history") as history_tab:
                build_history_tab(context, guidelines, history_tab)
            with gr.Tab("Arena", id="arena", elem_id="tab-arena"):
                build_arena_tab(context)
            with gr.Tab("Leaderboard", id="leaderboard", elem_id="tab-leaderboard") as leaderboard_tab:
                build_leaderboard_tab(context, leaderboard_tab, topics)
            with gr.Tab("Your ratings", id="mine", elem_id="tab-mine") as mine_tab:
                build_my_ratings_tab(context, mine_tab)
            with gr.Tab("Annotate", id="annotate", elem_id="tab-annotate"):
                build_annotate_tab(context, guidelines, page_login)
            with gr.Tab("Insights", id="insights", elem_id="tab-insights"):
                build_insights_tab(context, page_login, topics)
            with gr.Tab("Guidelines", id="guidelines", elem_id="tab-guidelines"):
                gr.Markdown(guidelines.markdown)
        # A reload shows this browser's last request in each tab again (from the database).
        wire_restore(app, context, "text", text_parts)
        wire_restore(app, context, "image", image_parts)
        # Each tab's sampling knob starts from the person's own value where their ratings show one.
        for modality, parts in (("text", text_parts), ("image", image_parts)):
            if parts.tuning is not None:
                wire_tuning(app, context, modality, parts.tuning)
        device = device_in_use(settings.device)
        status = gr.Markdown(elem_id="status", elem_classes="meta")
        refresh = gr.Timer(STATUS_REFRESH_S)
        gr.on(
            [app.load, refresh.tick],
            lambda: status_markdown(settings, context.database, device),
            outputs=status,
            api_visibility="private",
            queue=False,
            show_progress="hidden",
        )
    # POST /api/ratings: one group-committing writer for every caller of this app.
    app.api_router = rating_router(context, RatingWriter(context.database.sessions.begin))
    return app


def launch_kwargs(settings: Settings, guard: GuardState | None = None, router: APIRouter | None = None) -> dict[str, Any]:
    """Arguments for `Blocks.launch` shared by `serve` and the tests.

    Run history is off: it would keep every event's inputs - the annotator's password among
    them - in the browser's localStorage. `_app` carries our ASGI layers (playground/web/server.py):
    allowed origins, the identity cookie, body limits and session_hash ownership
    (docs/SECURITY.md). Launch with `start`, which also pins uvicorn's proxy-header trust.
    """
    return {
        "server_name": settings.host,
        "server_port": settings.port,
        "theme": gr.themes.Soft(primary_hue="indigo", neutral_hue="slate"),
        "css_paths": [settings.assets_dir / "style.css"],
        "js": (settings.assets_dir / "playground.js").read_text(encoding="utf-8"),
        "allowed_paths": [str(settings.images_dir.resolve())],
        "footer_links": ["api"],
        "show_error": True,
        "run_history": False,
        "max_file_size": settings.max_upload_bytes,
        # Streams run on the event loop (playground/web/ui/loop_stream.py), so a slot of the queue
        # no longer costs a thread; Gradio still admits only this many events at once.
        "max_threads": settings.active_events,
        "_app": server_app(settings, guard, router),
        # Gradio's only use of `_frontend` is a check for notebooks: after the server answers
        # /startup-events it HEADs the page with a 3-second timeout and, if that times out, stops
        # the launch ("When localhost is not accessible, a shareable link must be created"). The
        # page takes up to 1.5 s on a busy 2-core machine (it builds the whole config); a slower
        # one failed to start. Playground never uses a share link, and the server has answered.
        "_frontend": False,
    }


def start(app: gr.Blocks, settings: Settings, guard: GuardState | None = None, **launch_options: Any) -> None:
    """`app.launch` with `launch_kwargs` (and `launch_options` over them), X-Forwarded-For
    believed exactly as PLAYGROUND_TRUST_FORWARDED_FOR and PLAYGROUND_FORWARDED_ALLOW_IPS say."""
    with uvicorn_proxy_trust(settings):
        router = app.api_router if isinstance(app, CheckedBlocks) else None
        app.launch(**{**launch_kwargs(settings, guard, router), **launch_options})
    check_proxy_trust(app, settings)


def launch(settings: Settings) -> None:
    """Serve until SIGTERM or Ctrl-C; then refuse new requests, let the ones in flight (rating
    writes among them) finish for up to DRAIN_TIMEOUT_S, and close."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    database = open_database(settings)
    limit_torch_threads(settings)
    context = build_context(settings, database)
    # Load the models while the page is being served, then keep the garbage collector off them.
    context.warmup.start(then=freeze_the_loaded_heap)
    app = build_app(context)
    app.queue(max_size=settings.max_queue_size)
    guard = GuardState()
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    start(app, settings, guard, prevent_thread_lock=True)
    stop.wait()
    drain(guard, database)
    close_app(app)
    database.engine.dispose()


def limit_torch_threads(settings: Settings) -> int:
    """Cap torch's intra-op threads before any model loads (`PLAYGROUND_TORCH_THREADS`).

    With torch on every core, a generation left the web server's threads waiting for a core:
    on 2 cores, rating p95 went from tens of ms to over a second while text generated
    (docs/PERFORMANCE.md, "Rating under load"). Returns the thread count in use.
    """
    import torch

    threads = settings.resolved_torch_threads
    torch.set_num_threads(threads)
    log.info("torch uses %d CPU thread(s) for generation", threads)
    return threads


def drain(guard: GuardState, database: Database, timeout_s: float = DRAIN_TIMEOUT_S) -> None:
    """Refuse new requests; wait for requests and database writes in flight to finish."""
    guard.draining = True
    log.info("shutting down: waiting for requests and writes in flight")
    deadline = time.monotonic() + timeout_s
    while (guard.busy() or database.sessions.in_flight) and time.monotonic() < deadline:
        time.sleep(0.05)
    log.info("stopped (%d requests, %d writes unfinished)", guard.busy(), database.sessions.in_flight)
