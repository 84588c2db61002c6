"""The Gradio app: builds the Blocks layout from the settings and launches it.

Layout only wires plain handler functions; the generation and rating tabs plug in here.
"""

from __future__ import annotations

import gradio as gr
from sqlalchemy import func, select

from feedback_db.schema import Rating, Request
from playground.database import Database, open_database
from playground.settings import Settings

APP_NAME = "Playground"
TAGLINE = (
    "Prompt the models, compare candidates and rate them. "
    "**What your ratings do:** they train the next model version, which replaces this one "
    "only if people rate it better."
)


def status_markdown(settings: Settings, database: Database) -> str:
    """A short status of what this instance serves and how much feedback it holds."""
    with database.read_sessions() as session:
        requests = session.scalar(select(func.count(Request.id))) or 0
        ratings = session.scalar(select(func.count(Rating.id))) or 0
    return (
        f"Text model: `{settings.text_model}` · Image model: `{settings.image_model}` · "
        f"Device: `{settings.device}`  \n"
        f"Feedback so far: {requests} requests, {ratings} ratings · "
        f"schema revision `{database.revision}`"
    )


def build_app(settings: Settings, database: Database) -> gr.Blocks:
    with gr.Blocks(title=APP_NAME) as app:
        gr.Markdown(f"# {APP_NAME}\n{TAGLINE}", elem_id="header")
        status = gr.Markdown(elem_id="status")
        app.load(lambda: status_markdown(settings, database), outputs=status)
    return app


def launch(settings: Settings) -> None:
    database = open_database(settings)
    app = build_app(settings, database)
    app.queue(default_concurrency_limit=1)
    app.launch(
        server_name=settings.host,
        server_port=settings.port,
        theme=gr.themes.Soft(),
        allowed_paths=[str(settings.images_dir.resolve())],
        footer_links=[],
    )
