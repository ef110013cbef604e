"""Small bridges from screen events to the engine."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from wizard.engine import Session


def include_again(session: Session, step_id: str) -> None:
    """A skipped step the user fills in after all goes back to pending."""
    if session.status(step_id) == "skipped":
        session.mark_pending(step_id)
