"""`playground serve`: run the web app."""

from __future__ import annotations

import argparse

from playground.cli.common import DEVICE_HELP, EXIT_OK, IMAGE_MODEL_HELP, TEXT_MODEL_HELP, command
from playground.core.settings import Settings


def add_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    serve = command(commands, "serve", "run the web app", cmd_serve)
    serve.add_argument("--host", help="listen address (default 127.0.0.1)")
    serve.add_argument("--port", type=int, help="port (default 7860)")
    serve.add_argument("--text-model", help=TEXT_MODEL_HELP)
    serve.add_argument("--image-model", help=IMAGE_MODEL_HELP)
    serve.add_argument("--device", help=DEVICE_HELP)


def cmd_serve(settings: Settings, args: argparse.Namespace) -> int:
    from playground.web.app import launch

    launch(settings)
    return EXIT_OK
