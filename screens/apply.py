"""Apply: the engine runs the steps in a worker; each step's state and the pushes'
per-key progress arrive as messages. A failure shows its message and can be retried
(finished steps are not redone)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.message import Message
from textual.widgets import Button, ProgressBar, Static

from providers.errors import ProviderError
from screens.messages import ApplyFinished, Navigate, StepStatusChanged
from screens.pane import Pane
from screens.sidebar import SKIPPED_MARK
from screens.step import action_buttons
from wizard.errors import SetupError, ValidationFailed

if TYPE_CHECKING:
    from wizard.engine import RunResult, Session

ROW_MARKS = {
    "waiting": ("·", "dim"),
    "running": ("▶", "bold"),
    "done": ("✓", "green"),
    "failed": ("✗", "red"),
    "unchanged": ("✓", "green"),
    "not run": (SKIPPED_MARK, "dim"),
}


class ApplyProgress(Message):
    def __init__(self, step_id: str, done: int, total: int, label: str) -> None:
        super().__init__()
        self.step_id = step_id
        self.done = done
        self.total = total
        self.label = label


class ApplyOutput(Message):
    """A line a step's child process printed (prisma, a build's state), already redacted."""

    def __init__(self, step_id: str, line: str) -> None:
        super().__init__()
        self.step_id = step_id
        self.line = line


class ApplyStepState(Message):
    def __init__(self, step_id: str, status: str, text: str | None) -> None:
        super().__init__()
        self.step_id = step_id
        self.status = status
        self.text = text


class ApplyOver(Message):
    def __init__(self, result: RunResult | None, error: str | None, problems: list[str]) -> None:
        super().__init__()
        self.result = result
        self.error = error
        self.problems = problems


class ApplyPane(Pane):
    page = "apply"
    page_title = "Apply"

    def __init__(self, session: Session, *, dry_run: bool, step_ids: list[str]) -> None:
        super().__init__(session, dry_run=dry_run)
        self.step_ids = step_ids
        self.titles = {s.id: s.title for s in session.steps()}
        self.states: dict[str, str] = dict.fromkeys(step_ids, "waiting")
        self.finished = False
        self.ok = False

    def compose(self) -> ComposeResult:
        with VerticalScroll(classes="pane-body"):
            yield Static(Text("Apply", style="bold"), classes="pane-title")
            with Vertical(id="apply-steps"):
                for step_id in self.step_ids:
                    yield Static(self._row(step_id, None), id=f"apply-{step_id}")
            yield Static("", id="apply-notices")
        with Vertical(classes="progress-area", id="progress-area"):
            yield Static("", id="progress-label", markup=False)
            yield ProgressBar(total=None, show_eta=False, id="progress")
        with Horizontal(classes="check-bar"):
            yield Static("", id="check-result", markup=False)
        yield action_buttons(skip=False, check=True, next_label="Done")

    def on_mount(self) -> None:
        self.query_one("#btn-check", Button).label = "Retry"
        # Shown once a push reports progress; an idle bar would only animate.
        self.query_one("#progress-area").display = False
        self.start_apply()

    def _row(self, step_id: str, text: str | None) -> Text:
        status = self.states.get(step_id, "waiting")
        mark, style = ROW_MARKS.get(status, ("·", ""))
        row = Text(f"{mark} ", style=style)
        row.append(self.titles.get(step_id, step_id))
        label = {"unchanged": "already done", "waiting": "waiting"}.get(status, status)
        row.append(f"  {label}", style="dim")
        if text:
            row.append(f"\n    {text}", style="red" if status == "failed" else "")
        return row

    def _set_row(self, step_id: str, status: str, text: str | None = None) -> None:
        self.states[step_id] = status
        for row in self.query(f"#apply-{step_id}"):
            if isinstance(row, Static):
                row.update(self._row(step_id, text))

    # -- what the screen asks -----------------------------------------------------------
    def running_work(self) -> tuple[str, str] | None:
        return ("Apply is running", "finished steps stay recorded") if self.busy else None

    def can(self, action: str) -> bool | None:
        if action == "back":
            return None if self.busy else True
        if action == "check":
            return (None if self.busy else True) if self.finished and not self.ok else False
        if action == "next":
            return True if self.finished and self.ok else None
        return False

    def help_text(self) -> str:
        return (
            "Each step runs after every live check has passed. A failure stops the run; "
            "what finished before it stays done. Retry (ctrl+t) runs again without redoing "
            "finished steps."
        )

    def action_check(self) -> None:
        if self.finished and not self.ok and not self.busy:
            self.start_apply()

    def action_next(self) -> None:
        if self.finished and self.ok:
            self.post_message(Navigate("done"))

    # -- running ------------------------------------------------------------------------
    def start_apply(self) -> None:
        self.finished = False
        for step_id in self.step_ids:
            self._set_row(step_id, "waiting")
        self.set_busy(True)
        self.show_spinner(True)
        self.query_one("#check-result", Static).update("Checking every service, then applying…")
        self._apply_worker()

    @work(exclusive=True, exit_on_error=False, group="apply")
    async def _apply_worker(self) -> None:
        def progress(step_id: str, done: int, total: int, label: str) -> None:
            self.post_message(ApplyProgress(step_id, done, total, label))

        def step(step_id: str, status: str, text: str | None) -> None:
            self.post_message(ApplyStepState(step_id, status, text))

        def output(step_id: str, line: str) -> None:
            self.post_message(ApplyOutput(step_id, line))

        try:
            result = await self.session.apply(
                self.step_ids, on_progress=progress, on_step=step, on_output=output
            )
        except ValidationFailed as exc:
            self.post_message(ApplyOver(None, None, list(exc.problems)))
        except (ProviderError, SetupError) as exc:
            self.post_message(ApplyOver(None, str(exc), []))
        except Exception as exc:
            self.post_message(
                ApplyOver(None, f"apply stopped unexpectedly ({type(exc).__name__})", [])
            )
        else:
            self.post_message(ApplyOver(result, None, []))

    @on(ApplyProgress)
    def _progress(self, message: ApplyProgress) -> None:
        message.stop()
        self.query_one("#progress-area").display = True
        bar = self.query_one("#progress", ProgressBar)
        bar.update(total=max(message.total, 1), progress=message.done)
        title = self.titles.get(message.step_id, message.step_id)
        label = f": {message.label}" if message.label else ""
        self.query_one("#progress-label", Static).update(
            f"{title}{label} ({message.done}/{message.total})"
        )

    @on(ApplyOutput)
    def _output(self, message: ApplyOutput) -> None:
        # The latest line of a migration or a build, as text (it came from outside).
        message.stop()
        self.query_one("#progress-area").display = True
        title = self.titles.get(message.step_id, message.step_id)
        self.query_one("#progress-label", Static).update(Text(f"{title} │ {message.line}"))

    @on(ApplyStepState)
    def _step_state(self, message: ApplyStepState) -> None:
        message.stop()
        self._set_row(message.step_id, message.status, message.text)
        if message.status in ("done", "failed"):
            self.post_message(StepStatusChanged(message.step_id))

    @on(ApplyOver)
    def _over(self, message: ApplyOver) -> None:
        message.stop()
        self.show_spinner(False)
        self.finished = True
        result = message.result
        status = self.query_one("#check-result", Static)
        notices = self.query_one("#apply-notices", Static)
        if result is None:
            self.ok = False
            lines = message.problems or [message.error or "apply failed"]
            notices.update(Text("\n".join(f"✗ {line}" for line in lines), style="red"))
            status.update("✗ Nothing was applied: fix the values and try again.")
        else:
            self.ok = result.ok
            unchanged = {
                c.target
                for c in result.changes
                if c.action == "unchanged" and c.kind == "resource" and c.name == c.target
            }
            for step_id in self.step_ids:
                if step_id in result.failures and self.states[step_id] != "failed":
                    self._set_row(step_id, "failed", result.failures[step_id])
                elif self.states[step_id] == "waiting":
                    self._set_row(step_id, "unchanged" if step_id in unchanged else "not run")
            notices.update(Text("\n".join(f"! {n}" for n in result.notices), style="yellow"))
            if result.ok:
                status.update("✓ Applied. Press ctrl+n for the post-deployment checklist.")
            else:
                status.update("✗ Some steps failed: fix them (escape goes back) or retry.")
        self.post_message(ApplyFinished(self.ok))
        self.set_busy(False)
