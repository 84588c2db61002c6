"""The CLI's own error type, shared by `playground.cli.main` and its sub-command modules."""


class CLIError(Exception):
    """A problem the user can fix; printed as `error: <message>`."""
