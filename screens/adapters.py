"""Small bridges to the engine for what ``Session`` does not offer (yet).

Each one is a request to the core's owner; remove it when the engine has the method.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from wizard.engine import Session


def include_again(session: Session, step_id: str) -> None:
    """A skipped step the user fills in after all goes back to pending.

    Wanted in the engine as ``Session.mark_pending(step_id)``.
    """
    mark_pending = getattr(session, "mark_pending", None)
    if callable(mark_pending):
        mark_pending(step_id)
        return
    if session.status(step_id) == "skipped":
        session.state.mark(step_id, "pending")
        session.save()
