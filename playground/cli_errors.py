"""The CLI's own error type, shared by `playground.cli` and its sub-command modules."""


class CLIError(Exception):
    """A problem the user can fix; printed as `error: <message>`."""
