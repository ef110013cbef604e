"""The review: every change apply would make, grouped by where it lands, before any write.

``Session.plan`` runs in a worker (it reads from the services); changes carry names,
never values, and values are shown only in masked form. In a dry run the walk ends here.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, ClassVar

from rich.text import Text
from textual import events, on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.message import Message
from textual.widgets import Button, Static

from providers.errors import ProviderError
from screens.messages import (
    FinishRequested,
    Navigate,
    ProblemsFound,
    StepCheckFailed,
    StepStatusChanged,
)
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


class PageLink(Static, can_focus=True):
    """A line that takes the user to the step it names (Enter or a click)."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("enter", "open", "Open step", show=False)]

    def __init__(self, text: Text, page: str | None) -> None:
        super().__init__(text, classes="page-link" if page else "")
        self.page = page
        self.can_focus = page is not None

    def on_click(self, event: events.Click) -> None:
        event.stop()
        self.action_open()

    def action_open(self) -> None:
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
            # Public values in full (they are on the site for anyone); secrets masked.
            shown = masked(value, public=False) if session.is_secret(change.name) else value
            line.append(f"  {shown}", style="dim")
    if change.detail and change.detail != f".env.{session.environment}":
        line.append(f"  ({change.detail})", style="dim")
    return line


def in_the_wizard(problem: str, key: str, page: str | None) -> str:
    """A missing value's line says where to type it here, not the CLI's --set/--skip."""
    if page and problem.startswith(f"{key}: missing — "):
        return f"{key}: missing — fill it in on the {page} page (Enter opens it)"
    return problem


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
        # Steps the last plan could not get past (failed checks, values missing or wrong).
        self.blocking_steps: dict[str, str] = {}
        # ctrl+s: keep skipping what blocks each new plan until one goes through.
        self._skipping = False

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
        yield action_buttons(skip=True, check=True, next_label=label)

    def on_mount(self) -> None:
        self.query_one("#btn-skip", Button).label = "Skip failed"
        self.query_one("#btn-check", Button).label = "Plan again"
        self.start_plan()

    def can(self, action: str) -> bool | None:
        if action == "back":
            return None if self.busy else True
        if action == "check":
            return None if self.busy else True
        if action == "next":
            return None if (self.busy or self.blocked) else True
        if action == "skip":
            return (None if self.busy else True) if self.blocking_steps else False
        return False

    def help_text(self) -> str:
        return (
            "The review lists every change, grouped by where it lands: the services' "
            "resources, the env file, Vercel and GitHub. Values never appear, only their "
            "masked form (public values show in full). ctrl+t plans again after fixing "
            "something, ctrl+n applies.\n\nWhen a step cannot go on (a failed live check, a "
            "missing value), its line says why: tab to it and press Enter to open the step, "
            "fix the value and press ctrl+t there to retry; or press ctrl+s here to skip every "
            "step listed (offline, this leaves the secrets and the env file to finish)."
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
        self.blocking_steps = {}
        found: list[tuple[str, str]] = []
        if message.problems:
            status.update("✗ Some values need fixing first.")
            widgets.append(Static(Text("Fix these first:", style="bold")))
            for raw in message.problems:
                key = raw.split(":", 1)[0]
                step_id = self.session.catalogue.step_of(key)
                title = target_title(self.session, step_id) if step_id else "Review"
                where = f"  ({title})" if step_id else ""
                problem = in_the_wizard(raw, key, title if step_id else None)
                widgets.append(PageLink(Text(f"✗ {problem}{where}", style="red"), step_id))
                found.append((f"{title}: value", problem))
                if step_id and step_id in self.step_ids:
                    self.blocking_steps.setdefault(step_id, problem)
        elif message.error is not None:
            status.update("✗ Planning failed.")
            widgets.append(Static(Text(f"✗ {message.error}", style="red")))
            found.append(("Review: planning", message.error))
        elif message.result is not None:
            widgets.extend(self._render_result(message.result))
            for step_id, error in message.result.failures.items():
                self.blocking_steps[step_id] = error
                # The sidebar marks it ✗ and the problems list keeps the message.
                self.post_message(StepCheckFailed(step_id, error))
            if message.result.failures:
                status.update("✗ Some live checks failed: fix or skip those steps.")
            else:
                status.update(summary_line(message.result.changes))
        if self.blocking_steps:
            widgets.append(Static(self._way_out(), classes="way-out"))
        if found:
            self.post_message(ProblemsFound(found))
        if self._skipping and self.blocking_steps:
            # Fixing the values let the live checks run: skip what they stopped too.
            self.set_busy(False)
            self._skip_blocking()
            return
        self._skipping = False
        self.blocked = message.result is None or not message.result.ok
        await plan.mount_all(widgets)
        self.set_busy(False)

    def _way_out(self) -> Text:
        names = ", ".join(target_title(self.session, s) for s in self.blocking_steps)
        out = Text()
        out.append("How to get past: ", style="bold")
        out.append("tab to a line and press Enter to open its step (fix, then ctrl+t to retry); ")
        out.append("ctrl+t", style="bold")
        out.append(" plans again; ")
        out.append("ctrl+s", style="bold")
        out.append(f" skips {names} (reason recorded, taken up again later).")
        return out

    def focus_first(self) -> None:
        # Blocked: the first line that says why (Enter opens its step).
        for link in self.query(PageLink):
            if link.can_focus:
                link.focus()
                return
        super().focus_first()

    def action_skip(self) -> None:
        """Skip every step the plan could not get past, then plan again: offline, what
        needs no network (secrets, the env file) can then be finished."""
        if self.busy or not self.blocking_steps:
            return
        self._skipping = True
        self._skip_blocking()

    def _skip_blocking(self) -> None:
        for step_id, why in self.blocking_steps.items():
            reason = "review: " + why.splitlines()[0]
            self.session.mark_skipped(step_id, reason[:200])
            self.post_message(StepStatusChanged(step_id))
        self.step_ids = [s for s in self.step_ids if s not in self.blocking_steps]
        skipped = ", ".join(target_title(self.session, s) for s in self.blocking_steps)
        self.notify(f"Skipped {skipped}; planning the rest.", title="Review")
        self.start_plan()

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
        changes = [c for c in (self.result.changes if self.result else []) if c.mutating]
        if not changes:
            self.app.push_screen(
                ConfirmModal(
                    f"Nothing to change in {self.session.environment}",
                    "Everything is already in place. Go to the checklist anyway?",
                    yes="Continue",
                ),
                self._confirmed,
            )
            return
        targets = [target_title(self.session, t) for t in group_changes(self.session, changes)]
        self.app.push_screen(
            ConfirmModal(
                f"Apply to {self.session.environment}?",
                f"{len(changes)} change(s) to: {', '.join(targets)}. Steps already done are "
                "not redone.",
            ),
            self._confirmed,
        )

    def _confirmed(self, answer: str | None) -> None:
        if answer == "yes":
            self.post_message(Navigate("apply"))
        else:
            self.focus_first()
