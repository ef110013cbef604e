"""Prerequisites: the guide's checklist, ticked by the user and checked where we can.

git, node and package.json are looked up locally (no network); the accounts are the
user's to tick. The production URL is asked here because later steps derive from it.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from rich.text import Text
from textual.app import ComposeResult
from textual.widgets import SelectionList, Static

from screens.marks import MarkedSelectionList
from screens.messages import StepCompleted
from screens.step import StepPane

if TYPE_CHECKING:
    pass


def local_checks(project_dir: Path) -> dict[str, bool]:
    """The core's cheap offline checks (git, node, package.json, .git) for this folder."""
    from wizard.steps.prerequisites import local_checks as core_checks

    return core_checks(project_dir)


class PrerequisitesPane(StepPane):
    def compose_guide(self) -> ComposeResult:
        found = local_checks(self.session.project_dir)
        lines = Text()
        for name, ok in found.items():
            lines.append("✓ " if ok else "✗ ", style="green" if ok else "red")
            lines.append(name + ("" if ok else "  (not found)") + "\n")
        lines.rstrip()
        yield Static(Text("Checked for you", style="bold"), classes="section-title")
        yield Static(lines, id="local-checks")

    def compose_extra(self) -> ComposeResult:
        yield Static(Text("Tick what you have", style="bold"), classes="section-title")
        done = self.session.status(self.step.id) == "done"
        # One list widget (space ticks), not a checkbox each: cheaper on the first paint.
        yield MarkedSelectionList(
            *((Text(line), i, done) for i, line in enumerate(self.step.guide)), id="checklist"
        )

    @property
    def has_live_check(self) -> bool:
        return False

    def unticked(self) -> list[str]:
        ticked = set(self.query_one("#checklist", SelectionList).selected)
        return [line for i, line in enumerate(self.step.guide) if i not in ticked]

    def focus_first(self) -> None:
        rows = self.rows()
        if rows and not rows[0].value:
            rows[0].focus_control()
        else:
            self.query_one("#checklist", SelectionList).focus()

    def after_last_field(self) -> None:
        # The checklist comes after the URL: Enter goes there; Next is ctrl+n.
        self.query_one("#checklist", SelectionList).focus()

    def after_commit(self) -> None:
        missing = self.unticked()
        self.session.mark_done(self.step.id)
        if missing:
            self.notify(
                f"{len(missing)} checklist item(s) not ticked: later steps need those accounts.",
                title="Prerequisites",
                severity="warning",
            )
        self.post_message(StepCompleted(self.step.id))
