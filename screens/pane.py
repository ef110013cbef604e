"""What every page in the main area offers the wizard screen.

The screen owns the key bindings (so the footer shows them wherever focus is) and
forwards each action to the current pane; ``can`` says which actions make sense here.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual.containers import Vertical

from screens.messages import BusyChanged

if TYPE_CHECKING:
    from wizard.engine import Session

# Actions the screen forwards to the pane.
PANE_ACTIONS = frozenset({"next", "back", "skip", "check", "reveal", "generate"})


class Pane(Vertical):
    """A page of the walk: a step, the review, the apply, the end."""

    page: str = ""
    page_title: str = ""

    def __init__(self, session: Session, *, dry_run: bool, page: str = "") -> None:
        self.page = page or self.page
        super().__init__(id=f"pane-{self.page}", classes="pane")
        self.session = session
        self.dry_run = dry_run
        self._busy = False

    # -- what the screen asks ------------------------------------------------------
    def can(self, action: str) -> bool | None:
        """True: offered; None: shown greyed; False: hidden."""
        if action == "back":
            return not self._busy
        return False

    @property
    def busy(self) -> bool:
        return self._busy

    def set_busy(self, busy: bool) -> None:
        self._busy = busy
        self.post_message(BusyChanged())

    def show_spinner(self, on: bool) -> None:
        """A LoadingIndicator in the status bar while work runs.

        Mounted only then: even hidden, its animation timer keeps the app busy.
        """
        from textual.widgets import LoadingIndicator

        self.set_class(on, "-checking")
        # A class, not an id: a new run may start before the old spinner's removal is done.
        for old in self.query(".spinner"):
            old.remove()
        if on:
            for bar in self.query(".check-bar"):
                bar.mount(LoadingIndicator(classes="spinner"), before=0)
                break

    def help_text(self) -> str:
        return ""

    def running_work(self) -> tuple[str, str] | None:
        """Work that leaving this page would stop: (what runs, what stopping it leaves).
        The walk then refuses to change page, and ctrl+q asks for a second press."""
        return None

    def focus_first(self) -> None:
        """Put the cursor somewhere useful: the first usable button, else the page."""
        from textual.widgets import Button

        for button_id in ("#btn-next", "#btn-check", "#btn-back"):
            for button in self.query(button_id):
                if isinstance(button, Button) and button.display and not button.disabled:
                    button.focus()
                    return
        for body in self.query(".pane-body"):
            body.focus()
            return

    def commit_on_quit(self) -> None:
        """Keep what can be kept (valid answers) before the app exits."""

    # -- actions the screen forwards ---------------------------------------------------
    def action_next(self) -> None:
        pass

    def action_check(self) -> None:
        pass

    def action_skip(self) -> None:
        pass

    def action_reveal(self) -> None:
        pass

    def action_generate(self) -> None:
        pass
