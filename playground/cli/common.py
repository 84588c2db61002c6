"""What the command modules share: exit codes and the way a sub-command is declared."""

from __future__ import annotations

import argparse
from collections.abc import Callable

from playground.core.settings import Settings

EXIT_OK, EXIT_ERROR, EXIT_USAGE = 0, 1, 2
Handler = Callable[[Settings, argparse.Namespace], int]
TEXT_MODEL_HELP = "'embedded', a Hugging Face id / local path, or openai:URL[#MODEL] (an engine: docs/ENGINE.md)"
IMAGE_MODEL_HELP = "'embedded' or a diffusers id / local path"
DEVICE_HELP = "auto, cpu, cuda or cuda:N"


def command(
    group: argparse._SubParsersAction[argparse.ArgumentParser], name: str, help_text: str, handler: Handler
) -> argparse.ArgumentParser:
    """A sub-command of `group` that runs `handler(settings, args)`."""
    parser: argparse.ArgumentParser = group.add_parser(name, help=help_text, description=help_text)
    parser.set_defaults(handler=handler)
    return parser
