"""One kind of error for bad input, printed as one line.

Every problem with what a user gives the simulator (a scenario file, a theater
file, a ``--set`` override, an experiment file, a command-line value) is raised
as :class:`InputError`. The command line prints ``str(error)`` on stderr and
exits with code 2; it never shows a traceback for these.

The line reads ``WHERE: PATH: expected X, found Y`` where WHERE is
``file:line`` (or the ``--set`` that caused it) and PATH is the dotted path
inside the document.
"""

from __future__ import annotations


class InputError(Exception):
    """Bad input: one line saying where and what."""

    def __init__(
        self,
        message: str,
        *,
        source: str | None = None,
        line: int | None = None,
        path: str | None = None,
    ) -> None:
        self.message = " ".join(str(message).split())  # always a single line
        self.source = source
        self.line = line
        self.path = path
        super().__init__(str(self))

    def __str__(self) -> str:
        parts = []
        if self.source:
            parts.append(f"{self.source}:{self.line}" if self.line else self.source)
        if self.path:
            parts.append(self.path)
        parts.append(self.message)
        return ": ".join(parts)


def found(value: object, limit: int = 60) -> str:
    """A short, single-line rendering of a user's value for an error message."""
    text = repr(value)
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 3] + "..."
