"""The one exception type the CLI turns into a one-line message and an exit code (no traceback)."""

from __future__ import annotations

#: Exit codes shared by every command (documented in the README).
EXIT_OK = 0
EXIT_REGRESSION = 1  # bench check: a regression was found; bench parity: a check failed
EXIT_USAGE = 2  # bad input, or results that cannot be compared


class BenchError(Exception):
    """A problem the user can fix. ``str(err)`` is the whole message: what is wrong and what to do."""

    def __init__(self, message: str, exit_code: int = EXIT_USAGE):
        super().__init__(message)
        self.exit_code = exit_code
