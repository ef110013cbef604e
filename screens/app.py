"""The Textual wizard: ``dream-pixel-setup`` with no subcommand.

The app holds the session and the exit code; the wizard screen does the walking.
Progress is saved on every step, on quit (ctrl+q) and when the terminal goes away
(SIGHUP), so the next start can offer to resume.
"""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

from rich.console import RenderableType
from textual import on, work
from textual.app import App
from textual.binding import Binding, BindingType
from textual.notifications import SeverityLevel

from screens.messages import ApplyFinished, FinishRequested
from screens.modals import ConfirmModal, ResumeModal
from screens.walk import WizardScreen
from wizard.errors import SetupError

if TYPE_CHECKING:
    from wizard.engine import Session
    from wizard.summary import SummaryFacts

CSS_FILE = Path(__file__).resolve().parent.parent / "assets" / "wizard.tcss"


class WizardApp(App[int]):
    CSS_PATH = CSS_FILE
    TITLE = "Dream Pixel setup"
    ENABLE_COMMAND_PALETTE = False
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+q", "quit", "Quit", priority=True),
        Binding("f1", "help", "Help"),
        Binding("ctrl+e", "problems", "Problems", show=False),
        # Typed into a field, `?` is a character; anywhere else it opens the help.
        Binding("question_mark", "help", "Help", show=False),
    ]

    def __init__(self, session: Session, *, dry_run: bool = False) -> None:
        super().__init__()
        self.session = session
        self.dry_run = dry_run or session.dry_run
        self.exit_code = 0
        self.sub_title = session.environment + (" · dry run" if self.dry_run else "")
        self._quit_armed = False
        # One line for the terminal when the app ended on a bug (see _handle_exception).
        self.crash: str | None = None
        # The terminal went away: nothing more is written to it.
        self.hung_up = False
        self.exit_facts: SummaryFacts | None = None

    # -- text from outside, crashes -----------------------------------------------------
    def notify(
        self,
        message: str,
        *,
        title: str = "",
        severity: SeverityLevel = "information",
        timeout: float | None = None,
        markup: bool = False,
    ) -> None:
        # Notifications carry service names and error messages: never markup, whatever
        # the caller (Textual's Widget.notify passes markup=True by default).
        super().notify(message, title=title, severity=severity, timeout=timeout, markup=False)

    def _handle_exception(self, error: Exception) -> None:
        """A bug: save what can be saved and leave with one line, never a traceback (its
        frames and locals could hold a secret). DREAM_PIXEL_DEBUG=1 shows Textual's own."""
        import os

        if os.environ.get("DREAM_PIXEL_DEBUG"):
            super()._handle_exception(error)
            return
        self._return_code = 1
        if self._exception is None:  # Pilot re-raises it in tests
            self._exception = error
            self._exception_event.set()
        if self.crash is None:
            self.crash = crash_line(error)
            with contextlib.suppress(Exception):
                self.save_progress()
        self._close_messages_no_wait()

    def panic(self, *renderables: RenderableType) -> None:
        # Textual's input thread panics with a traceback when the terminal goes away.
        import os

        if os.environ.get("DREAM_PIXEL_DEBUG"):
            super().panic(*renderables)
            return
        self._return_code = 1
        if self.crash is None:
            self.crash = "the terminal stopped answering"
            with contextlib.suppress(Exception):
                self.save_progress()
        self._close_messages_no_wait()

    # -- start -------------------------------------------------------------------------
    def get_default_screen(self) -> WizardScreen:
        # The wizard is the app's own first screen: no blank screen painted before it.
        resume = self.session.has_progress()
        first = self.session.steps()[0].id
        start = (self.session.first_unfinished() or "review") if resume else first
        return WizardScreen(self.session, dry_run=self.dry_run, start_page=start)

    def on_mount(self) -> None:
        # keyring takes ~140 ms to import and probe: read it in a thread after the first
        # paint; the session's checks and plans wait for that read.
        self.session.keyring_in_background = True
        self.call_after_refresh(self._read_keyring)
        self._ask_remembered()
        if self.session.has_progress():
            self.push_screen(ResumeModal("Welcome back", self._resume_summary()), self._resumed)
        self._install_hangup_handler()

    def _ask_remembered(self) -> None:
        """Destinations remembered from the last run are used only once confirmed here
        (asked after the resume question; a stray Enter keeps them unused)."""
        remembered = self.session.remembered_lines()
        if not remembered:
            return
        lines = "\n".join(remembered)
        self.push_screen(
            ConfirmModal(
                "Remembered from the last run",
                f"These destinations were used last time and are not given now:\n{lines}\n"
                "Send to them again? Otherwise enter them in their steps.",
                yes="Use them",
                safe_default=True,
            ),
            self._remembered_answered,
        )

    async def _remembered_answered(self, answer: str | None) -> None:
        self.session.confirm_remembered(answer == "yes")
        wizard = self.wizard
        if answer == "yes" and wizard is not None:
            await wizard.goto(wizard.page)  # show the values in the page's fields

    @work(thread=True, exclusive=True, group="keyring", exit_on_error=False)
    def _read_keyring(self) -> None:
        self.session.load_keyring_credentials()

    def _resume_summary(self) -> str:
        statuses = [self.session.status(s.id) for s in self.session.steps()]
        nxt = self.session.first_unfinished()
        title = next((s.title for s in self.session.steps() if s.id == nxt), None)
        where = f"Next: {title}." if title else "Every step is done or skipped."
        return (
            f"Saved progress for {self.session.environment}: {statuses.count('done')} done, "
            f"{statuses.count('skipped')} skipped, {statuses.count('failed')} failed. {where}\n"
            "Resume there, go to the review, or start over."
        )

    async def _resumed(self, answer: str | None) -> None:
        wizard = self.wizard
        if wizard is None:
            return
        if answer == "review":
            await wizard.goto("review")
        elif answer == "restart":
            self.push_screen(
                ConfirmModal(
                    "Start over?",
                    f"Forget the saved progress for {self.session.environment} and the "
                    "credentials stored in the keyring? The env file stays as it is.",
                    yes="Start over",
                    safe_default=True,
                ),
                self._restart_confirmed,
            )
        elif wizard.pane is not None:
            wizard.pane.focus_first()

    async def _restart_confirmed(self, answer: str | None) -> None:
        wizard = self.wizard
        if wizard is None:
            return
        if answer != "yes":
            # Changed their mind: back to where the resume would have put them.
            if wizard.pane is not None:
                wizard.pane.focus_first()
            return
        if self.dry_run:
            # reset() deletes the state file and keyring entries: not in a dry run.
            self.notify("Dry run: saved progress is kept; walking from the first step.")
        else:
            try:
                self.session.reset()
            except (SetupError, OSError) as exc:
                self.notify(f"Could not reset: {exc}", severity="error")
        wizard.failed_checks.clear()
        await wizard.goto(self.session.steps()[0].id)

    def _install_hangup_handler(self) -> None:
        """The terminal went away (closed tab, dropped SSH, killed tmux): save and leave.

        A plain signal handler, not the event loop's: it runs even if the loop is stuck
        (say, writing to a terminal that no longer exists), and it outlives the loop.
        Whatever happens after it, the process is gone within a second or so.
        """
        if self.is_headless:
            return
        import asyncio
        import signal

        loop = asyncio.get_running_loop()

        def on_signal(signum: int, _frame: object) -> None:
            # SIGHUP: the terminal is gone; SIGTERM: asked to stop. Either way: save, leave
            # with 130 (interrupted, as the CLI does), and be gone within a second or so.
            self.hung_up = self.hung_up or signum == getattr(signal, "SIGHUP", None)
            self.exit_code = 130
            exit_soon(130)
            with contextlib.suppress(RuntimeError):  # the loop has already closed
                loop.call_soon_threadsafe(self._hang_up)

        for name in ("SIGHUP", "SIGTERM"):
            number = getattr(signal, name, None)
            if number is None or signal.getsignal(number) == signal.SIG_IGN:
                continue  # absent (Windows), or ignored on purpose (nohup): left so
            with contextlib.suppress(ValueError):
                signal.signal(number, on_signal)

    def _hang_up(self) -> None:
        self.save_progress()
        self.exit(self.exit_code)

    @property
    def wizard(self) -> WizardScreen | None:
        for screen in self.screen_stack:
            if isinstance(screen, WizardScreen):
                return screen
        return None

    # -- keys ----------------------------------------------------------------------------
    def action_help(self) -> None:
        from screens.help import HelpModal

        if isinstance(self.screen, HelpModal):
            return
        title, text = self.wizard.help_context() if self.wizard else ("", "")
        self.push_screen(HelpModal(title, text))

    def action_problems(self) -> None:
        from screens.modals import ProblemsModal

        if isinstance(self.screen, ProblemsModal):
            return
        self.push_screen(ProblemsModal(list(self.wizard.problem_log) if self.wizard else []))

    async def action_quit(self) -> None:
        wizard = self.wizard
        pane = wizard.pane if wizard else None
        work = pane.running_work() if pane is not None else None
        if work is not None and not self._quit_armed:
            self._quit_armed = True
            self.notify(f"{work[0]}. Press ctrl+q again to stop it; {work[1]}.", severity="warning")
            return
        self.save_progress()
        self.exit(self.exit_code)

    def save_progress(self) -> None:
        """Keep the valid answers on the current page and the progress so far."""
        wizard = self.wizard
        pane = wizard.pane if wizard else None
        self.exit_facts = self.summary_facts()  # the screens are gone once the app has left
        try:
            if pane is not None:
                pane.commit_on_quit()
            self.session.save()
        except (SetupError, OSError) as exc:
            self.exit_code = 1
            self.notify(f"Could not save progress: {exc}", severity="error")

    def summary_facts(self) -> SummaryFacts:
        """What the exit summary needs from this run (wizard.summary builds the text)."""
        from wizard.summary import SummaryFacts

        wizard = self.wizard
        facts = SummaryFacts(dry_run=self.dry_run)
        if wizard is None:
            return facts
        facts.failed_checks = dict(wizard.failed_checks)
        facts.applied = wizard.apply_status == "done"
        pane = wizard.pane
        if self.dry_run and pane is not None and pane.page == "review":
            facts.plan = getattr(pane, "result", None)
        return facts

    @on(FinishRequested)
    def _finish(self, message: FinishRequested) -> None:
        """The walk is over (dry-run review, or Done)."""
        self.save_progress()
        self.exit(self.exit_code if message.code is None else message.code)

    @on(ApplyFinished)
    def _applied(self, message: ApplyFinished) -> None:
        self.exit_code = 0 if message.ok else 1


def exit_soon(code: int, delay: float = 1.0) -> None:
    """End the process after ``delay`` seconds unless it has ended by then: a terminal
    that has gone away must never leave the wizard running (or spinning) behind it."""
    import os
    import threading

    timer = threading.Timer(delay, os._exit, (code,))
    timer.daemon = True
    timer.start()


def crash_line(error: BaseException) -> str:
    """What the terminal keeps after a bug: the exception's type, never its text (it may
    quote a value)."""
    return (
        f"internal error ({type(error).__name__}): the wizard stopped; progress up to the "
        "last finished step is saved. Rerun with DREAM_PIXEL_DEBUG=1 to see the traceback, "
        "and report it"
    )


def print_summary(app: WizardApp) -> None:
    """The terminal keeps what happened and what to run next (the app's screen is gone)."""
    import os
    import sys

    from wizard.summary import exit_summary

    try:
        text = exit_summary(app.session, app.exit_facts or app.summary_facts())
    except Exception as exc:  # the summary must never turn an exit into a crash
        if os.environ.get("DREAM_PIXEL_DEBUG"):
            raise
        text = f"(no summary: {type(exc).__name__}); `dream-pixel-setup status` shows progress"
    with contextlib.suppress(OSError):
        sys.stdout.write(text + "\n")
        sys.stdout.flush()


def run_app(session: Session, *, dry_run: bool) -> int:
    """Run the wizard until the user quits; the exit code for the CLI."""
    import os
    import sys

    app = WizardApp(session, dry_run=dry_run)
    try:
        result = app.run()
    except Exception as exc:
        if os.environ.get("DREAM_PIXEL_DEBUG"):
            raise
        app.crash = app.crash or crash_line(exc)
        result = 1
    if app.hung_up:
        return 130  # no terminal left to tell
    print_summary(app)
    if app.crash is not None:
        with contextlib.suppress(OSError):
            sys.stderr.write(f"error: {app.crash}\n")
        return 1
    if app.return_code:
        return app.return_code
    return result if isinstance(result, int) else 0
