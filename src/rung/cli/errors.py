"""``CLIError``: a command's one-line error for the user, and the exit code to leave with.

``rung.cli.main.main`` catches it, prints ``rung: error: <message>`` on stderr and returns
``code``. It lives in its own module so that every command module raises the class ``main``
catches, also when the CLI runs as ``python -m rung.cli.main`` (where ``rung.cli.main`` is
imported a second time under another name).
"""

from __future__ import annotations


class CLIError(Exception):
    """A one-line error for the user, with the exit code to leave with."""

    def __init__(self, message: str, code: int = 1) -> None:
        super().__init__(message)
        self.code = code


__all__ = ["CLIError"]
