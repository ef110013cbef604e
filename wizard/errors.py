"""Expected failures of the core: bad input, bad usage. One line each, no traceback."""

from __future__ import annotations


class SetupError(Exception):
    """An expected failure; ``str()`` is the line the user sees."""

    def __init__(self, message: str, *, key: str | None = None, hint: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.key = key
        self.hint = hint

    def __str__(self) -> str:
        text = f"{self.key}: {self.message}" if self.key else self.message
        return f"{text} — {self.hint}" if self.hint else text


class UsageError(SetupError):
    """The command line is wrong."""


class ValidationFailed(SetupError):
    """One or more values broke their key's rules; nothing was written or sent."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems
