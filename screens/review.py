"""The review: every change apply would make, grouped by where it lands, before any write.

``Session.plan`` runs in a worker (it reads from the services); changes carry names,
never values, and values are shown only in masked form. In a dry run the walk ends here.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from rich.text import Text
from textual import events, on, work
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.message import Message
from textual.widgets import Static

from providers.errors import ProviderError
from screens.messages import FinishRequested, Navigate
from screens.modals import ConfirmModal
from screens.pane import Pane
from screens.step import action_buttons
from wizard.changes import Change
from wizard.errors import SetupError, ValidationFailed
from wizard.masking import masked
from wizard.output import SYMBOLS

if TYPE_CHECKING:
    from wizard.engine import RunResult, Session

STYLES = {"+": "green", "~": "yellow", "-": "red", "?": "magenta", "✗": "red", "=": "dim"}
KEY_TARGETS = ("env-file", "vercel", "github")


class PlanReady(Message):
    def __init__(self, result: RunResult | None, problems: list[str], error: str | None) -> None:
        super().__init__()
        self.result = result
        self.problems = problems
        self.error = error


class PageLink(Static):
    """A line that takes the user to the step it names."""

    def __init__(self, text: Text, page: str | None) -> None:
        super().__init__(text, classes="page-link" if page else "")
        self.page = page

    def on_click(self, event: events.Click) -> None:
        event.stop()
        if self.page:
            self.post_message(Navigate(self.page))


def target_title(session: Session, target: str) -> str:
    if target == "env-file":
        return f".env.{session.environment}"
    if target == "vercel":
        return f"Vercel ({session.environment})"
    if target == "github":
        return "GitHub Actions secrets"
    return next((s.title for s in session.steps() if s.id == target), target)


def group_changes(session: Session, changes: Iterable[Change]) -> dict[str, list[Change]]:
    """Changes by target, in the order things happen: steps first, then the writes."""
    order = [s.id for s in session.steps()]
    groups: dict[str, list[Change]] = {}
    for change in changes:
        groups.setdefault(change.target, []).append(change)
    rank = {t: (order.index(t) if t in order else len(order)) for t in groups}
    for i, t in enumerate(KEY_TARGETS):
        if t in rank:
            rank[t] = len(order) + 1 + i
    return dict(sorted(groups.items(), key=lambda kv: rank[kv[0]]))


def change_line(session: Session, change: Change) -> Text:
    sym = SYMBOLS.get(change.action, "·")
    line = Text(f"  {sym} ", style=STYLES.get(sym, ""))
    line.append(change.name)
    line.append(f"  {change.action}", style=STYLES.get(sym, ""))
    if change.kind == "key" and change.target in KEY_TARGETS:
        value = session.value(change.name)
        if value is not None:
            line.append(
                f"  {masked(value, public=not session.is_secret(change.name))}", style="dim"
            )
    if change.detail and change.detail != f".env.{session.environment}":
        line.append(f"  ({change.detail})", style="dim")
    return line


def summary_line(changes: list[Change]) -> str:
    mutating = [c for c in changes if c.mutating]
    if not mutating:
        return "Nothing to change: everything is already in place."
    adds = sum(c.action in ("add", "create") for c in mutating)
    updates = sum(c.action == "update" for c in mutating)
    other = len(mutating) - adds - updates
    parts = [f"{adds} to add or create", f"{updates} to update"]
    if other:
        parts.append(f"{other} other")
    return f"{len(mutating)} changes: " + ", ".join(parts) + "."


class ReviewPane(Pane):
    page = "review"
    page_title = "Review"

    def __init__(self, session: Session, *, dry_run: bool, step_ids: list[str]) -> None:
        super().__init__(session, dry_run=dry_run)
        self.step_ids = step_ids
        self.result: RunResult | None = None
        self.blocked = True

    def compose(self) -> ComposeResult:
        with VerticalScroll(classes="pane-body"):
            yield Static(Text("Review", style="bold"), classes="pane-title")
            if self.dry_run:
                intro = "Dry run: this is what apply would do. Nothing will be written or sent."
            else:
                intro = (
                    "Nothing has been written yet. These are the changes apply will make; "
                    "values are masked."
                )
            yield Static(intro, classes="pane-summary", markup=False)
            yield Vertical(id="plan")
        with Horizontal(classes="check-bar"):
            yield Static("", id="check-result", markup=False)
        label = "Finish" if self.dry_run else "Apply"
        yield action_buttons(skip=False, check=True, next_label=label)

    def on_mount(self) -> None:
        self.start_plan()

    def can(self, action: str) -> bool | None:
        if action == "back":
            return None if self.busy else True
        if action == "check":
            return None if self.busy else True
        if action == "next":
            return None if (self.busy or self.blocked) else True
        return False

    def help_text(self) -> str:
        return (
            "The review lists every change, grouped by where it lands: the services' "
            "resources, the env file, Vercel and GitHub. Values never appear, only their "
            "masked form. Press ctrl+t to plan again after fixing something, ctrl+n to apply."
        )

    # -- planning ---------------------------------------------------------------------
    def action_check(self) -> None:
        if not self.busy:
            self.start_plan()

    def start_plan(self) -> None:
        self.blocked = True
        self.set_busy(True)
        self.show_spinner(True)
        self.query_one("#check-result", Static).update(
            "Planning: live checks read from each service…"
        )
        self._plan_worker()

    @work(exclusive=True, exit_on_error=False, group="plan")
    async def _plan_worker(self) -> None:
        try:
            result = await self.session.plan(self.step_ids)
        except ValidationFailed as exc:
            self.post_message(PlanReady(None, list(exc.problems), None))
        except (ProviderError, SetupError) as exc:
            self.post_message(PlanReady(None, [], str(exc)))
        except Exception as exc:
            self.post_message(
                PlanReady(None, [], f"planning stopped unexpectedly ({type(exc).__name__})")
            )
        else:
            self.post_message(PlanReady(result, [], None))

    @on(PlanReady)
    async def _plan_ready(self, message: PlanReady) -> None:
        message.stop()
        self.show_spinner(False)
        self.result = message.result
        plan = self.query_one("#plan", Vertical)
        await plan.remove_children()
        widgets: list[Static] = []
        status = self.query_one("#check-result", Static)
        if message.problems:
            status.update("✗ Some values need fixing first.")
            widgets.append(Static(Text("Fix these first (click one to go there):", style="bold")))
            for problem in message.problems:
                key = problem.split(":", 1)[0]
                step_id = self.session.catalogue.step_of(key)
                where = f"  ({target_title(self.session, step_id)})" if step_id else ""
                widgets.append(PageLink(Text(f"✗ {problem}{where}", style="red"), step_id))
        elif message.error is not None:
            status.update("✗ Planning failed.")
            widgets.append(Static(Text(f"✗ {message.error}", style="red")))
        elif message.result is not None:
            widgets.extend(self._render_result(message.result))
            if message.result.failures:
                status.update("✗ Some live checks failed: fix or skip those steps.")
            else:
                status.update(summary_line(message.result.changes))
        self.blocked = message.result is None or not message.result.ok
        await plan.mount_all(widgets)
        self.set_busy(False)

    def _render_result(self, result: RunResult) -> list[Static]:
        out: list[Static] = []
        for step_id, error in result.failures.items():
            title = target_title(self.session, step_id)
            out.append(PageLink(Text(f"✗ {title}: {error}", style="red"), step_id))
        for target, changes in group_changes(self.session, result.changes).items():
            out.append(
                Static(
                    Text(target_title(self.session, target), style="bold"), classes="group-title"
                )
            )
            shown = [c for c in changes if c.action != "unchanged"]
            same = [c.name for c in changes if c.action == "unchanged"]
            if shown:
                body = Text("\n").join(change_line(self.session, c) for c in shown)
                out.append(Static(body))
            if same:
                out.append(Static(Text(f"  = unchanged: {', '.join(same)}", style="dim")))
        for notice in result.notices:
            out.append(Static(Text(f"! {notice}", style="yellow")))
        return out

    # -- confirm ---------------------------------------------------------------------------
    def action_next(self) -> None:
        if self.busy or self.blocked:
            return
        if self.dry_run:
            self.notify("Dry run finished: nothing was written or sent.")
            self.post_message(FinishRequested(0))
            return
        changes = self.result.changes if self.result else []
        count = sum(c.mutating for c in changes)
        self.app.push_screen(
            ConfirmModal(
                f"Apply to {self.session.environment}?",
                f"{count} change(s) go to the services, .env.{self.session.environment}, Vercel "
                "and GitHub. Steps already done are not redone.",
            ),
            self._confirmed,
        )

    def _confirmed(self, answer: str | None) -> None:
        if answer == "yes":
            self.post_message(Navigate("apply"))
        else:
            self.focus_first()
