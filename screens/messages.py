"""Messages the panes post up to the wizard screen, which owns navigation.

Panes never navigate themselves: they say what happened (messages up) and the screen
decides what comes next and tells the sidebar (attributes down).
"""

from __future__ import annotations

from textual.message import Message


class Navigate(Message):
    """Go to a page: a step id, ``"review"``, ``"apply"`` or ``"done"``."""

    def __init__(self, page: str) -> None:
        super().__init__()
        self.page = page


class StepCompleted(Message):
    """The user finished a step's page (values set, check passed or ``waived``: "Continue
    anyway" after a failed check)."""

    def __init__(self, step_id: str, *, waived: bool = False) -> None:
        super().__init__()
        self.step_id = step_id
        self.waived = waived


class StepCheckPassed(Message):
    """A step's live check passed: its ✗ goes."""

    def __init__(self, step_id: str) -> None:
        super().__init__()
        self.step_id = step_id


class StepCheckFailed(Message):
    """A step's live check failed; the sidebar shows it until the next try."""

    def __init__(self, step_id: str, message: str) -> None:
        super().__init__()
        self.step_id = step_id
        self.message = message


class StepStatusChanged(Message):
    """A step's recorded status changed (apply, skip): the sidebar refreshes."""

    def __init__(self, step_id: str) -> None:
        super().__init__()
        self.step_id = step_id


class ApplyFinished(Message):
    """An apply run ended; ``ok`` is false when some step failed."""

    def __init__(self, ok: bool) -> None:
        super().__init__()
        self.ok = ok


class SkipRequested(Message):
    """Skip the current step (the screen asks for the reason)."""

    def __init__(self, step_id: str) -> None:
        super().__init__()
        self.step_id = step_id


class FinishRequested(Message):
    """The walk is over (dry-run review, or Done): save and exit with ``code``."""

    def __init__(self, code: int | None = None) -> None:
        super().__init__()
        self.code = code


class BusyChanged(Message):
    """A pane started or finished background work: the footer's keys may change."""


class ProblemsFound(Message):
    """Problems to keep in the problems list (ctrl+e): (where, message) pairs."""

    def __init__(self, entries: list[tuple[str, str]]) -> None:
        super().__init__()
        self.entries = entries
