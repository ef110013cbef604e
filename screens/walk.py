"""The wizard's one main screen: sidebar, the current page, the keys in the footer.

It owns navigation: panes post what happened (messages up), the screen picks the next
page and sets the sidebar's marks (attributes down). Pages after the steps (review,
apply, done) are imported only when reached, so the first paint stays cheap.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Container, Horizontal
from textual.screen import Screen
from textual.widget import MountError
from textual.widgets import Button, Footer, Header, Static

from screens.messages import (
    ApplyFinished,
    BusyChanged,
    Navigate,
    ProblemsFound,
    SkipRequested,
    StepCheckFailed,
    StepCheckPassed,
    StepCompleted,
    StepStatusChanged,
)
from screens.modals import SkipModal
from screens.pane import PANE_ACTIONS, Pane
from screens.sidebar import Sidebar
from wizard.errors import SetupError

if TYPE_CHECKING:
    from wizard.engine import Session

TAIL = ("review", "apply", "done")
ACTION_BUTTONS = {"btn-back": "back", "btn-skip": "skip", "btn-check": "check", "btn-next": "next"}
DRY_RUN_BANNER = "DRY RUN: nothing is written, stored or sent. The walk ends at the review."


class WizardScreen(Screen[None]):
    # Focus is placed by the panes: Textual's auto focus could pick a widget of a pane
    # that is being replaced, and a detached focus swallows every key binding.
    AUTO_FOCUS = ""
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+n", "next", "Next"),
        Binding("escape", "back", "Back"),
        Binding("ctrl+s", "skip", "Skip"),
        Binding("ctrl+t", "check", "Check"),
        Binding("ctrl+r", "reveal", "Show"),
        Binding("ctrl+g", "generate", "Generate"),
        Binding("f2", "focus_steps", "Steps", show=False),
    ]

    def __init__(self, session: Session, *, dry_run: bool, start_page: str) -> None:
        super().__init__(id="wizard")
        self.session = session
        self.dry_run = dry_run
        self.page = start_page
        # Steps whose live check failed in this run, with the message (the sidebar's ✗).
        self.failed_checks: dict[str, str] = {}
        # Every problem met in this run, for the problems list (ctrl+e).
        self.problem_log: list[tuple[str, str]] = []
        self.apply_status = "pending"
        self._auto_verified = False
        self._navigating = asyncio.Lock()
        self._keys_state: tuple[object, ...] = ()

    # -- layout ---------------------------------------------------------------------
    def compose(self) -> ComposeResult:
        yield Header(show_clock=False)
        if self.dry_run:
            yield Static(DRY_RUN_BANNER, id="dry-run-banner", markup=False)
        with Horizontal(id="body"):
            yield Sidebar(((s.id, s.title) for s in self.session.steps()), id="sidebar")
            # The page is mounted just after the first paint: the frame (sidebar with
            # every step, keys) shows at once, and the page's widgets, their CSS and
            # modules load a moment later.
            yield Container(id="main")
        yield Footer()

    def on_mount(self) -> None:
        self._refresh_sidebar()
        self.call_after_refresh(self._mount_first_page)

    async def _mount_first_page(self) -> None:
        if self.pane is None:
            await self.goto(self.page)

    def on_screen_resume(self) -> None:
        # A dialog closed: give the page the focus back (auto focus is off).
        self.call_after_refresh(self.ensure_focus)

    def _focus_pane(self) -> None:
        pane = self.pane
        if pane is not None and self.app.screen is self:
            pane.focus_first()

    def ensure_focus(self) -> None:
        """Give the pane the focus when nothing usable has it."""
        focused = self.focused
        pane = self.pane
        if pane is None or self.app.screen is not self:
            return
        if (
            focused is None
            or not focused.is_attached
            or focused.disabled
            or focused.has_class("pane-body")
        ):
            pane.focus_first()

    @property
    def step_ids(self) -> list[str]:
        return [s.id for s in self.session.steps()]

    @property
    def pane(self) -> Pane | None:
        for child in self.query_one("#main", Container).children:
            if isinstance(child, Pane):
                return child
        return None

    def _make_pane(self, page: str) -> Pane:
        session, dry_run = self.session, self.dry_run
        if page == "review":
            from screens.review import ReviewPane

            return ReviewPane(session, dry_run=dry_run, step_ids=self.selected_steps())
        if page == "apply":
            from screens.apply import ApplyPane

            return ApplyPane(session, dry_run=dry_run, step_ids=self.selected_steps())
        if page == "done":
            from screens.done import DonePane

            # The walk has just made the site live: the Done page checks it, once.
            auto_verify = not self._auto_verified and session.site_is_live()
            self._auto_verified = self._auto_verified or auto_verify
            return DonePane(session, dry_run=dry_run, auto_verify=auto_verify)
        step = next(s for s in session.steps() if s.id == page)
        if page == "prerequisites":
            from screens.prerequisites import PrerequisitesPane

            return PrerequisitesPane(session, step, dry_run=dry_run)
        from screens.step import StepPane

        return StepPane(session, step, dry_run=dry_run)

    def selected_steps(self) -> list[str]:
        """What a review or apply covers: every step the user did not skip."""
        return [s for s in self.step_ids if self.session.status(s) != "skipped"]

    # -- navigation -------------------------------------------------------------------
    def next_unfinished(self, page: str) -> str:
        """Where Next leads from a step: the next step still to do, else the review."""
        ids = self.step_ids
        later = ids[ids.index(page) + 1 :] if page in ids else []
        for step_id in later:
            if self.session.status(step_id) not in ("done", "skipped"):
                return step_id
        return "review"

    def previous_page(self, page: str) -> str | None:
        if page == "done":
            return None
        order = [*self.step_ids, *TAIL]
        i = order.index(page) if page in order else 0
        return order[i - 1] if i > 0 else None

    async def goto(self, page: str) -> None:
        # One page change at a time: two interleaved ones would leave two panes.
        async with self._navigating:
            main = self.query_one("#main", Container)
            # Drop the focus first: left on a widget being removed, Textual may hand it
            # to another doomed widget, and then no key binding of the screen would fire.
            self.set_focus(None)
            await main.remove_children()
            pane = self._make_pane(page)
            self.page = page
            try:
                await main.mount(pane)
            except MountError:
                return  # the app is closing (quit during the first page's mount)
            self._refresh_sidebar()
            self._refresh_header()
            self.sync_keys()
            if self.app.screen is self:  # not behind a dialog: it would take the focus
                pane.focus_first()

    def _refresh_header(self) -> None:
        ids = self.step_ids
        where = (
            f"Step {ids.index(self.page) + 1} of {len(ids)}"
            if self.page in ids
            else self.page.title()
        )
        parts = [self.session.environment, where] + (["dry run"] if self.dry_run else [])
        self.app.sub_title = " · ".join(parts)

    def _refresh_sidebar(self) -> None:
        statuses: dict[str, str] = {}
        for step_id in self.step_ids:
            status = self.session.status(step_id)
            statuses[step_id] = "failed" if step_id in self.failed_checks else status
        statuses["review"] = "pending" if self.apply_status == "pending" else "done"
        statuses["apply"] = self.apply_status
        statuses["done"] = (
            "done" if self.apply_status == "done" and self.page == "done" else "pending"
        )
        self.query_one(Sidebar).show(self.page, statuses)

    def help_context(self) -> tuple[str, str]:
        pane = self.pane
        if pane is None:
            return ("", "")
        return (pane.page_title, pane.help_text())

    # -- keys ----------------------------------------------------------------------------
    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in PANE_ACTIONS:
            pane = self.pane
            if pane is None:
                return False
            if action == "back" and self.previous_page(self.page) is None:
                return False
            return pane.can(action)
        return True

    def action_focus_steps(self) -> None:
        self.query_one(Sidebar).focus()

    def _allowed(self, action: str) -> bool:
        pane = self.pane
        return pane is not None and pane.can(action) is True

    def action_next(self) -> None:
        if self._allowed("next") and self.pane is not None:
            self.pane.action_next()

    async def action_back(self) -> None:
        if not self._allowed("back"):
            return
        previous = self.previous_page(self.page)
        if previous is not None:
            await self.goto(previous)

    def action_skip(self) -> None:
        if not self._allowed("skip") or self.pane is None:
            return
        if self.page in TAIL:
            self.pane.action_skip()  # the review: skip the steps it cannot get past
        else:
            self._ask_skip(self.page)

    def action_check(self) -> None:
        if self._allowed("check") and self.pane is not None:
            self.pane.action_check()

    def action_reveal(self) -> None:
        if self._allowed("reveal") and self.pane is not None:
            self.pane.action_reveal()

    def action_generate(self) -> None:
        if self._allowed("generate") and self.pane is not None:
            self.pane.action_generate()

    def _ask_skip(self, step_id: str) -> None:
        title = next((s.title for s in self.session.steps() if s.id == step_id), step_id)

        async def skipped(reason: str | None) -> None:
            if reason is None:
                self._focus_pane()
                return
            try:
                self.session.mark_skipped(step_id, reason)
            except (SetupError, OSError) as exc:
                self.notify(f"Could not save progress: {exc}", severity="error")
                return
            self.failed_checks.pop(step_id, None)
            await self.goto(self.next_unfinished(step_id))

        self.app.push_screen(SkipModal(title), skipped)

    # -- messages from the panes ---------------------------------------------------------------
    @on(Navigate)
    async def _navigate(self, message: Navigate) -> None:
        message.stop()
        pane = self.pane
        work = pane.running_work() if pane is not None else None
        if work is not None:
            self.notify(f"{work[0]}: wait for it to finish.", severity="warning")
            return
        await self.goto(message.page)

    @on(StepCompleted)
    async def _step_completed(self, message: StepCompleted) -> None:
        message.stop()
        if not message.waived:  # "Continue anyway" keeps the ✗ until a check passes
            self.failed_checks.pop(message.step_id, None)
        if self.page == message.step_id:
            await self.goto(self.next_unfinished(message.step_id))

    @on(StepCheckFailed)
    def _check_failed(self, message: StepCheckFailed) -> None:
        message.stop()
        self.failed_checks[message.step_id] = message.message
        self.log_problems([(f"{self.title_of(message.step_id)}: live check", message.message)])
        self._refresh_sidebar()

    @on(ProblemsFound)
    def _problems_found(self, message: ProblemsFound) -> None:
        message.stop()
        self.log_problems(message.entries)

    def log_problems(self, entries: list[tuple[str, str]]) -> None:
        for entry in entries:
            if entry in self.problem_log:
                self.problem_log.remove(entry)  # seen again: moves to the top
            self.problem_log.append(entry)
        del self.problem_log[:-50]

    def title_of(self, page: str) -> str:
        return next((s.title for s in self.session.steps() if s.id == page), page.title())

    @on(StepCheckPassed)
    def _check_passed(self, message: StepCheckPassed) -> None:
        message.stop()
        self.failed_checks.pop(message.step_id, None)
        self._refresh_sidebar()

    @on(SkipRequested)
    def _skip_requested(self, message: SkipRequested) -> None:
        message.stop()
        self._ask_skip(message.step_id)

    @on(StepStatusChanged)
    def _status_changed(self, message: StepStatusChanged) -> None:
        message.stop()
        if self.session.status(message.step_id) in ("done", "skipped"):
            self.failed_checks.pop(message.step_id, None)
        self._refresh_sidebar()

    @on(ApplyFinished)
    def _apply_finished(self, message: ApplyFinished) -> None:
        # Not stopped: the app keeps the exit code.
        self.apply_status = "done" if message.ok else "failed"
        self._refresh_sidebar()

    @on(BusyChanged)
    def _busy_changed(self, message: BusyChanged) -> None:
        message.stop()
        self.sync_keys()
        self.call_after_refresh(self.ensure_focus)

    def sync_keys(self) -> None:
        """Footer keys and the pane's buttons follow what the pane can do right now."""
        pane = self.pane
        state = (pane, tuple(self.check_action(a, ()) for a in sorted(PANE_ACTIONS)))
        if state == self._keys_state:
            return  # unchanged: spare the footer a rebuild
        self._keys_state = state
        self.refresh_bindings()
        if pane is None:
            return
        for button in pane.query(Button):
            action = ACTION_BUTTONS.get(button.id or "")
            if action is None:
                continue
            allowed = self.check_action(action, ())
            button.display = allowed is not False
            button.disabled = allowed is not True
