"""Done: the guide's post-deployment checklist, with what could be verified marked.

``wizard.verify.run_checks`` probes the live site on demand, in a worker; it is imported
only then (it brings httpx). The rest of the list is the user's to tick.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.message import Message
from textual.widgets import Button, Checkbox, Static

from screens.marks import MarkedCheckbox
from screens.messages import FinishRequested
from screens.pane import Pane
from screens.sidebar import SKIPPED_MARK
from screens.step import action_buttons
from wizard.checklist import CHECKLIST, item_verdict

if TYPE_CHECKING:
    from wizard.verify import VerifyReport

MARKS = {"pass": ("✓", "green"), "fail": ("✗", "red"), "skipped": (SKIPPED_MARK, "dim")}


class VerifyDone(Message):
    def __init__(self, report: VerifyReport | None, error: str | None) -> None:
        super().__init__()
        self.report = report
        self.error = error


class DonePane(Pane):
    page = "done"
    page_title = "Done"

    def compose(self) -> ComposeResult:
        statuses = [self.session.status(s.id) for s in self.session.steps()]
        url = self.session.value("NEXTAUTH_URL")
        with VerticalScroll(classes="pane-body"):
            yield Static(Text("Done", style="bold"), classes="pane-title")
            yield Static(
                f"{self.session.environment}: {statuses.count('done')} of {len(statuses)} "
                "steps done, "
                f"{statuses.count('skipped')} skipped, {statuses.count('failed')} failed.",
                classes="pane-summary",
                markup=False,
            )
            if left := self._left_over():
                yield Static(left, id="left-over", classes="pane-guide")
            yield Static(
                "Post-deployment checklist (from the deployment guide). Once the site is "
                f"deployed, ctrl+t checks {url or 'the production URL'} for you.",
                classes="pane-guide",
                markup=False,
            )
            with Vertical(id="post-checklist"):
                for i, (item, _prefixes) in enumerate(CHECKLIST):
                    yield MarkedCheckbox(Text(item), compact=True, id=f"post-{i}")
            yield MarkedCheckbox(
                "Include the rate-limit probe (sends up to 110 requests)",
                compact=True,
                id="rate-limit-opt",
            )
            yield Static("", id="verify-results")
        with Horizontal(classes="check-bar"):
            yield Static("", id="check-result", markup=False)
        buttons = action_buttons(skip=False, check=True, next_label="Quit")
        yield buttons

    def _left_over(self) -> Text | None:
        """Steps skipped or failed, why, and how to take each up again."""
        env = self.session.environment
        where = "" if env == "production" else f" --environment {env}"
        lines = Text()
        for step in self.session.steps():
            status = self.session.status(step.id)
            if status not in ("skipped", "failed"):
                continue
            mark = SKIPPED_MARK if status == "skipped" else "✗"
            why = self.session.skip_reason(step.id) or "no reason given"
            lines.append(f"{mark} {step.title}", style="bold")
            lines.append(f" {status}: {why}\n")
            lines.append(
                f"    again: f2, open {step.title}, ctrl+n; or dream-pixel-setup apply "
                f"--only {step.id}{where}\n",
                style="dim",
            )
        if not lines.plain:
            return None
        lines.rstrip()
        return Text.assemble(("Not done yet\n", "bold"), lines)

    def on_mount(self) -> None:
        self.query_one("#btn-check", Button).label = "Verify site"

    def focus_first(self) -> None:
        check = self.query_one("#btn-check", Button)
        if check.disabled:
            super().focus_first()
        else:
            check.focus()

    def can(self, action: str) -> bool | None:
        if action in ("check", "next"):
            return None if self.busy else True
        return False

    def help_text(self) -> str:
        return (
            "The guide's post-deployment checklist. ctrl+t runs the site checks (HTTPS, "
            "headers, caching, the webhook route, optionally rate limiting) against the "
            "production URL; what they cover is ticked or marked failed. Tick the rest as "
            "you do them. ctrl+q quits."
        )

    def action_next(self) -> None:
        self.post_message(FinishRequested())

    # -- verification --------------------------------------------------------------------
    def action_check(self) -> None:
        if self.busy:
            return
        url = self.session.value("NEXTAUTH_URL")
        if not url:
            self.notify("No production URL: set it on the Prerequisites step.", severity="error")
            return
        rate = self.query_one("#rate-limit-opt", Checkbox).value
        self.set_busy(True)
        self.show_spinner(True)
        self.query_one("#check-result", Static).update(f"Checking {url}…")
        self._verify_worker(url, rate, self.session.status("cloudflare") == "done")

    @work(exclusive=True, exit_on_error=False, group="verify")
    async def _verify_worker(self, url: str, rate: bool, cloudflare: bool) -> None:
        try:
            from wizard.verify import VerifyUrlError, run_checks
        except Exception as exc:
            self.post_message(VerifyDone(None, f"cannot load the checks ({type(exc).__name__})"))
            return
        try:
            report = await run_checks(url, check_rate_limit=rate, expect_cloudflare=cloudflare)
        except VerifyUrlError as exc:
            self.post_message(VerifyDone(None, str(exc)))
        except Exception as exc:
            self.post_message(
                VerifyDone(None, f"the checks stopped unexpectedly ({type(exc).__name__})")
            )
        else:
            self.post_message(VerifyDone(report, None))

    @on(VerifyDone)
    def _verified(self, message: VerifyDone) -> None:
        message.stop()
        self.show_spinner(False)
        self.set_busy(False)
        status = self.query_one("#check-result", Static)
        report = message.report
        if report is None:
            status.update(f"✗ {message.error}")
            self.notify(message.error or "verification failed", severity="error")
            return
        for i, (item, prefixes) in enumerate(CHECKLIST):
            verdict = item_verdict(report, prefixes)
            box = self.query_one(f"#post-{i}", Checkbox)
            if verdict == "pass":
                box.value = True
                box.label = Text(f"{item}  ✓ verified")
            elif verdict == "fail":
                box.value = False
                box.label = Text(f"{item}  ✗ failed")
        lines = Text()
        for check in report.checks:
            mark, style = MARKS.get(check.status, ("·", ""))
            lines.append(f"{mark} {check.title}", style=style)
            lines.append(f"  {check.detail}\n", style="dim")
            if check.status == "fail" and check.fix:
                lines.append(f"    {check.fix}\n")
        lines.rstrip()
        self.query_one("#verify-results", Static).update(lines)
        failed = sum(c.status == "fail" for c in report.checks)
        status.update(
            f"✗ {failed} check(s) failed on {report.url}." if failed else f"✓ {report.url} passed."
        )
