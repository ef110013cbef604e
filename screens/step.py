"""A step's page: what it is for, the guide's lines, its fields, and its live check.

Values go to the session only through ``validate_value``/``set_value``; the live check
(``Session.check_step``) runs in a worker and reports back with a message, so the app
stays responsive and a failing service never takes it down.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.css.query import NoMatches
from textual.message import Message
from textual.widgets import Button, Input, Select, Static
from textual.worker import Worker, WorkerState

from providers.errors import ProviderError
from screens.adapters import include_again
from screens.fields import FieldRow
from screens.messages import (
    SkipRequested,
    StepCheckFailed,
    StepCheckPassed,
    StepCompleted,
    StepStatusChanged,
)
from screens.modals import CheckFailedModal
from screens.pane import Pane
from screens.sidebar import SKIPPED_MARK
from wizard.errors import SetupError

if TYPE_CHECKING:
    from providers.supabase import SupabaseProject
    from wizard.catalogue import Field, Step
    from wizard.engine import Session
    from wizard.guides import PageGuide

# The Database step's project picker: the token lists the projects, the user picks one.
TOKEN_KEY = "SUPABASE_ACCESS_TOKEN"
PROJECT_KEY = "supabase_project"
TOKEN_HINT = "create one at https://supabase.com/dashboard/account/tokens"


class CheckFinished(Message):
    """The live check's worker is done: ``error`` is None when it passed."""

    def __init__(self, step_id: str, notices: list[str], error: str | None, advance: bool) -> None:
        super().__init__()
        self.step_id = step_id
        self.notices = notices
        self.error = error
        self.advance = advance


def action_buttons(
    *,
    skip: bool = True,
    check: bool = True,
    next_label: str = "Next",
    extra: Sequence[Button] = (),
) -> Horizontal:
    """The row of buttons mirroring the keys (for the mouse); ``extra`` go before Next,
    which stays last."""
    buttons = [Button("Back", id="btn-back", compact=True, action="screen.back")]
    if skip:
        buttons.append(Button("Skip", id="btn-skip", compact=True, action="screen.skip"))
    if check:
        buttons.append(Button("Check", id="btn-check", compact=True, action="screen.check"))
    buttons.extend(extra)
    buttons.append(
        Button(next_label, id="btn-next", variant="primary", compact=True, action="screen.next")
    )
    return Horizontal(*buttons, classes="actions")


def project_options(projects: Sequence[SupabaseProject]) -> list[tuple[str, str]]:
    """(label, ref) pairs for the project picker: "ref — name (region)"."""
    return [(f"{p.ref} — {p.name} ({p.region})", p.ref) for p in projects]


class StepPane(Pane):
    """One step of the catalogue."""

    # On the pane, not the screen: the footer shows it only while this page has the focus,
    # and ``check_action`` hides it on every step but the Database one.
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+l", "load_projects", "Projects"),
    ]

    def __init__(self, session: Session, step: Step, *, dry_run: bool) -> None:
        super().__init__(session, dry_run=dry_run, page=step.id)
        self.step = step
        self.page_title = step.title
        # Choices fetched at run time, by field key: kept when the rows are rebuilt.
        self._options: dict[str, list[tuple[str, str]]] = {}

    # -- layout --------------------------------------------------------------------
    def compose(self) -> ComposeResult:
        with VerticalScroll(classes="pane-body"):
            yield Static(Text(self.step.title, style="bold"), classes="pane-title")
            status = self._status_line()
            if status:
                yield Static(status, classes="pane-status", markup=False)
            yield Static(self.step.summary, classes="pane-summary", markup=False)
            yield from self.compose_guide()
            with Vertical(id="fields"):
                helps = self._guide().field_help
                for f in self.session.visible_fields(self.step.id):
                    yield FieldRow(
                        f,
                        self.session.value(f.key),
                        options=self._options.get(f.key),
                        help=helps.get(f.key),
                        action=self._row_action(f.key),
                    )
            yield from self.compose_extra()
            # A failed live check's whole message, wrapped (the bar below has one line).
            yield Static("", id="check-error", markup=False)
            yield Static("", id="notices", markup=False)
        with Horizontal(classes="check-bar"):
            yield Static("", id="check-result", markup=False)
        yield action_buttons(check=self.has_live_check)

    def _row_action(self, key: str) -> str | None:
        """The button beside a field: the token's "load projects" (ctrl+l)."""
        return "load projects" if key == TOKEN_KEY else None

    @on(Button.Pressed, ".row-action")
    def _row_action_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        if event.button.id == f"act-{TOKEN_KEY}":
            self.action_load_projects()

    def _guide(self) -> PageGuide:
        from wizard.guides import page_guide

        return page_guide(self.step, self.session.choice)

    def _guide_text(self) -> str:
        guide = self._guide()
        lines = [f"• {line}" for line in guide.guide]
        if guide.console_url:
            lines.append(f"Console: {guide.console_url}")
        return "\n".join(lines)

    def compose_guide(self) -> ComposeResult:
        # Follows the provider chosen (Neon, R2): see _refresh_fields.
        yield Static(self._guide_text(), classes="pane-guide", id="guide", markup=False)

    def compose_extra(self) -> ComposeResult:
        """Anything a step shows after its fields."""
        return iter(())

    def _status_line(self) -> str:
        status = self.session.status(self.step.id)
        reason = self.session.skip_reason(self.step.id)
        if status == "done":
            return "✓ Done on an earlier run. Changed values are applied again."
        if status == "skipped":
            why = reason or "no reason given"
            return f"{SKIPPED_MARK} Skipped: {why}. Next includes it again."
        if status == "failed":
            return f"✗ Failed last time: {reason or 'see the review'}"
        return ""

    @property
    def has_live_check(self) -> bool:
        return bool(self.step.fields)

    def rows(self) -> list[FieldRow]:
        return list(self.query(FieldRow))

    # -- what the screen asks --------------------------------------------------------
    def can(self, action: str) -> bool | None:
        if action in ("next", "back", "skip"):
            return None if self.busy else True
        if action == "check":
            return (None if self.busy else True) if self.has_live_check else False
        if action == "reveal":
            return any(f.secret and not f.choices for f in self._fields())
        if action == "generate":
            return any(f.source == "generated" for f in self._fields())
        return False

    def _fields(self) -> list[Field]:
        return self.session.visible_fields(self.step.id)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "load_projects":
            return self.offers_projects
        return True

    @property
    def offers_projects(self) -> bool:
        """The Supabase project can be picked from a list (Database step, Supabase chosen)."""
        return any(f.key == PROJECT_KEY for f in self._fields())

    def help_text(self) -> str:
        parts = [self.step.summary]
        if self.offers_projects:
            parts.append(
                "With a Supabase access token, ctrl+l loads your projects to pick from; then "
                "only the database password is asked and the connection string is built."
            )
        guide = self._guide()
        for f in self.session.visible_fields(self.step.id):
            if text := guide.field_help.get(f.key, f.help):
                parts.append(f"{f.label} ({f.key}): {text}")
        if guide.console_url:
            parts.append(f"Console: {guide.console_url}")
        return "\n\n".join(parts)

    def focus_first(self) -> None:
        rows = self.rows()
        if rows:
            # Keep the page's top (title, guide) in view; scroll only if the field is
            # below the fold.
            rows[0].focus_control(scroll=False)
            self.call_after_refresh(self._reveal_focused)
        else:
            self.query_one("#btn-next", Button).focus()

    def _reveal_focused(self) -> None:
        focused = self.app.focused
        if focused is None or not focused.is_attached:
            return
        for body in self.query(".pane-body"):
            if not body.region.contains_region(focused.region):
                focused.scroll_visible(animate=False)

    def commit_on_quit(self) -> None:
        for row in self.rows():
            value = row.value
            if self.session.validate_value(row.key, value) is None:
                self._store(row.key, value)

    # -- actions -------------------------------------------------------------------------
    def action_next(self) -> None:
        if self.busy:
            return
        if self.commit():
            self.after_commit()

    def action_check(self) -> None:
        if self.busy or not self.has_live_check:
            return
        if self.commit():
            self.start_check(advance=False)

    def action_reveal(self) -> None:
        row = self._focused_row(lambda r: r.field.secret and not r.field.choices)
        if row is not None:
            row.toggle_reveal()

    def action_generate(self) -> None:
        row = self._focused_row(lambda r: r.field.source == "generated")
        if row is not None:
            self._generate(row)

    def _focused_row(self, accept: Callable[[FieldRow], bool]) -> FieldRow | None:
        """The row holding the focus if it qualifies, else the first row that does."""
        node = self.app.focused
        while node is not None and not isinstance(node, FieldRow):
            node = node.parent  # type: ignore[assignment]
        if isinstance(node, FieldRow) and accept(node):
            return node
        return next((r for r in self.rows() if accept(r)), None)

    # -- values ------------------------------------------------------------------------
    def commit(self) -> bool:
        """Validate every field offline; when all pass, hand them to the session."""
        rows = self.rows()
        bad: list[FieldRow] = []
        form = {r.key: r.value for r in rows}
        for row in rows:
            err = self.session.validate_value(row.key, row.value, alongside=form)
            row.set_error(err)
            if err:
                bad.append(row)
        if bad:
            names = ", ".join(r.field.label for r in bad)
            self.notify(f"Fix before going on: {names}", title=self.step.title, severity="error")
            bad[0].focus_control()
            return False
        for row in rows:
            # An untouched row must not blank a value that arrived after it was built (the
            # keyring is read in the background after the first paint).
            if row.value != row.initial:
                self._store(row.key, row.value)
        if self.session.status(self.step.id) == "skipped":
            include_again(self.session, self.step.id)
            self.post_message(StepStatusChanged(self.step.id))
        return self._save()

    def _store(self, key: str, value: str) -> None:
        # Unchanged values stay as they are, so a generated or existing value keeps
        # its origin (the plan says "unchanged", not "update").
        if value != (self.session.value(key) or ""):
            self.session.set_value(key, value)

    def _save(self) -> bool:
        try:
            self.session.save()
        except (SetupError, OSError) as exc:
            self.notify(f"Could not save progress: {exc}", severity="error")
            return False
        return True

    def after_commit(self) -> None:
        """Values accepted: check them live, then move on."""
        if self.has_live_check:
            self.start_check(advance=True)
        else:
            self.post_message(StepCompleted(self.step.id))

    def _generate(self, row: FieldRow) -> None:
        row.set_value(self.session.generate(row.key))
        row.set_error(None)
        self.notify(f"{row.field.label}: a new value was generated (hidden).", title="Generated")

    @on(FieldRow.Left)
    def _field_left(self, event: FieldRow.Left) -> None:
        event.stop()
        row = event.row
        if not row.is_attached:
            return
        value = row.value
        # An untouched empty field is not an error yet; Next reports it.
        if value or row.has_error:
            row.set_error(self.session.validate_value(row.key, value))

    @on(FieldRow.Submitted)
    def _field_submitted(self, event: FieldRow.Submitted) -> None:
        """Enter moves on: to the next field, and from the last one, Next."""
        event.stop()
        rows = self.rows()
        if event.row not in rows:
            return
        later = rows[rows.index(event.row) + 1 :]
        if later:
            later[0].focus_control()
        else:
            self.after_last_field()

    def after_last_field(self) -> None:
        """Enter in the last field: Next."""
        self.action_next()

    @on(FieldRow.Picked)
    async def _field_picked(self, event: FieldRow.Picked) -> None:
        event.stop()
        key, value = event.row.key, event.value
        if self.session.validate_value(key, value) is not None:
            return
        if value != self.session.value(key):
            self.session.set_value(key, value)
        await self._refresh_fields(focus_key=key)

    @on(FieldRow.GenerateRequested)
    def _generate_requested(self, event: FieldRow.GenerateRequested) -> None:
        event.stop()
        self._generate(event.row)

    async def _refresh_fields(self, focus_key: str | None = None) -> None:
        """Show the fields the current choices call for, keeping what was typed."""
        wanted = self.session.visible_fields(self.step.id)
        rows = self.rows()
        for guide in self.query("#guide"):
            if isinstance(guide, Static):
                guide.update(self._guide_text())
        if [f.key for f in wanted] == [r.key for r in rows]:
            return
        # What was typed stays; an untouched row shows the session's value, which a choice
        # may have changed (R2: the region becomes auto).
        drafts = {r.key: r.value for r in rows if r.value != r.initial}
        container = self.query_one("#fields", Vertical)
        await container.remove_children()
        helps = self._guide().field_help
        await container.mount_all(
            FieldRow(
                f,
                drafts[f.key] if f.key in drafts else self.session.value(f.key),
                options=self._options.get(f.key),
                help=helps.get(f.key),
                action=self._row_action(f.key),
            )
            for f in wanted
        )
        for row in self.rows():
            if row.key == focus_key:
                row.focus_control()
        self.set_busy(self.busy)  # the screen re-reads which keys apply
        self.refresh_bindings()  # "Load projects" follows the provider choice

    # -- the Supabase project picker ----------------------------------------------------------
    def action_load_projects(self) -> None:
        if not self.offers_projects or not self._token_for_listing():
            return
        self.notify("Loading the projects this token sees…", title="Supabase", timeout=3)
        self._projects_worker()

    def _token_for_listing(self) -> bool:
        """Hand a typed token to the session (the listing reads it there); False, with a
        notification, when there is none or it is malformed."""
        row = self._row(TOKEN_KEY)
        typed = row.value if row is not None else ""
        cleared = row is not None and not typed and bool(row.initial)
        if typed:
            assert row is not None
            if err := self.session.validate_value(TOKEN_KEY, typed):
                row.set_error(err)
                self.notify(f"Supabase ({TOKEN_KEY}): {err}", title="Supabase", severity="error")
                return False
            row.set_error(None)
            if typed != self.session.value(TOKEN_KEY):
                self.session.set_value(TOKEN_KEY, typed)
            row.mark_stored(typed)
            return True
        if cleared:
            assert row is not None
            self.notify(
                f"Supabase ({TOKEN_KEY}): enter an access token first — {TOKEN_HINT}",
                title="Supabase",
                severity="error",
            )
            row.focus_control()
            return False
        # Nothing typed: the session's token (environment or keyring, which may still be
        # loading) is used; the listing says so when there is none.
        return True

    def _row(self, key: str) -> FieldRow | None:
        return next((r for r in self.rows() if r.key == key), None)

    @work(exclusive=True, exit_on_error=False, group="projects")
    async def _projects_worker(self) -> None:
        try:
            projects = await self.session.supabase_projects()
        except (ProviderError, SetupError) as exc:
            if isinstance(exc, ProviderError) and exc.key == TOKEN_KEY and not exc.hint:
                exc.hint = f"enter an access token first — {TOKEN_HINT}"
            self.notify(str(exc), title="Supabase projects", severity="error", timeout=10)
            return
        except Exception as exc:
            # Its text may hold a value: only the type is shown.
            self.notify(
                f"Supabase: loading the projects stopped unexpectedly ({type(exc).__name__}); "
                "type the project ref instead",
                title="Supabase projects",
                severity="error",
            )
            return
        if self.is_attached:
            await self._show_projects(projects)

    async def _show_projects(self, projects: list[SupabaseProject]) -> None:
        if not projects:
            self.notify(
                "Supabase: this token sees no project — create one at https://supabase.com/"
                "dashboard, then load again (ctrl+l)",
                title="Supabase projects",
                severity="warning",
                timeout=10,
            )
            return
        options = project_options(projects)
        row = self._row(PROJECT_KEY)
        if len(projects) == 1:
            only = projects[0]
            if row is not None:
                if row.options:  # a list from an earlier load: show the one left
                    self._options[PROJECT_KEY] = options
                    await row.offer_options(options)
                row.set_value(only.ref)
                row.set_error(None)
            self.notify(
                f"Supabase: the token sees one project, {only.ref} ({only.name}): chosen.",
                title="Supabase projects",
            )
            return
        self._options[PROJECT_KEY] = options
        if row is not None:
            await row.offer_options(options)
            row.set_error(None)
        self.notify(
            f"Supabase: {len(projects)} projects — pick one in the project list.",
            title="Supabase projects",
        )

    # -- the live check ----------------------------------------------------------------------
    def start_check(self, *, advance: bool) -> None:
        self.set_busy(True)
        self.show_spinner(True)
        self._show_result(f"Checking {self.step.title}…", "")
        self._check_worker(advance)

    @work(exclusive=True, exit_on_error=False, group="check")
    async def _check_worker(self, advance: bool) -> None:
        try:
            report = await self.session.check_step(self.step.id)
        except (ProviderError, SetupError) as exc:
            self.post_message(CheckFinished(self.step.id, [], str(exc), advance))
        except Exception as exc:
            # A bug in a step must not end the walk; its text may hold a value, so
            # only the type is shown.
            message = f"{self.step.title}: the check stopped unexpectedly ({type(exc).__name__})"
            self.post_message(CheckFinished(self.step.id, [], message, advance))
        else:
            self.post_message(CheckFinished(self.step.id, list(report.notices), None, advance))

    @on(Worker.StateChanged)
    def _worker_changed(self, event: Worker.StateChanged) -> None:
        # The worker catches everything it expects; this is the last line of defence.
        if event.worker.group != "check":
            return  # the project listing never holds the page busy
        if event.state in (WorkerState.ERROR, WorkerState.CANCELLED) and self.busy:
            self.show_spinner(False)
            self.set_busy(False)
            if event.state == WorkerState.ERROR:
                self._show_result("✗ The check stopped unexpectedly.", "-failed")

    @on(CheckFinished)
    def _check_finished(self, event: CheckFinished) -> None:
        event.stop()
        self.show_spinner(False)
        self.set_busy(False)
        notices = self.query_one("#notices", Static)
        notices.update("\n".join(f"! {n}" for n in event.notices))
        if event.error is not None:
            self._show_result("✗ Live check failed: see above (ctrl+e lists problems)", "-failed")
            self._show_check_error(event.error)
            self.post_message(StepCheckFailed(self.step.id, event.error))
            if event.advance:
                self.app.push_screen(
                    CheckFailedModal(f"{self.step.title}: live check failed", event.error),
                    self._after_failed_check,
                )
            else:
                self.notify(event.error, title="Live check failed", severity="error")
            return
        self._show_result("✓ Live check passed.", "-passed")
        self._show_check_error(None)
        self.post_message(StepCheckPassed(self.step.id))
        for notice in event.notices:
            self.notify(notice, title=self.step.title, severity="warning", timeout=10)
        if event.advance:
            self.post_message(StepCompleted(self.step.id))

    def _after_failed_check(self, answer: str | None) -> None:
        if answer == "continue":
            self.post_message(StepCompleted(self.step.id, waived=True))
        elif answer == "skip":
            self.post_message(SkipRequested(self.step.id))
        else:
            self.focus_first()

    def _show_check_error(self, error: str | None) -> None:
        try:
            box = self.query_one("#check-error", Static)
        except NoMatches:
            return
        box.update(f"✗ {error}" if error else "")
        box.display = bool(error)
        if error:
            box.scroll_visible(animate=False)

    @on(Input.Changed)
    @on(Select.Changed)
    def _value_changed(self) -> None:
        # The failed check was about the old values: its message leaves the page (the
        # problems list, ctrl+e, keeps it).
        for box in self.query("#check-error"):
            if box.display:
                self._show_check_error(None)
                self._show_result("", "")

    def _show_result(self, text: str, cls: str) -> None:
        try:
            result = self.query_one("#check-result", Static)
        except NoMatches:
            return
        result.update(text)
        result.set_class(cls == "-failed", "-failed")
        result.set_class(cls == "-passed", "-passed")
