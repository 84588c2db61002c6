"""`playground` on the command line, one module per command group; `main` is the entry point."""

from playground.cli.main import main

__all__ = ["main"]
