"""Done: the guide's post-deployment checklist, with what could be verified marked, and
the guide's Rollback Procedure as an action.

``wizard.verify.run_checks`` probes the live site in a worker: on demand (ctrl+t), and by
itself when the walk has just made the site live (deploy and domain done).
``wizard.checklist_facts.gather`` answers three items from the services (backups, Sentry's
unresolved issues, the last CI run), reads only, each time the page is shown. ``wizard.rollback``
lists the production deployments and promotes the previous one after a confirmation
(ctrl+b). Both are imported only then (they bring httpx). The rest of the list is the
user's to tick.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, ClassVar, TypeVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.message import Message
from textual.widgets import Button, Checkbox, Static

from providers.errors import ProviderError
from screens.marks import MarkedCheckbox
from screens.messages import FinishRequested, ProblemsFound
from screens.modals import ConfirmModal, MessageModal
from screens.pane import Pane
from screens.sidebar import SKIPPED_MARK
from screens.step import action_buttons
from wizard.checklist import CHECKLIST, item_verdict
from wizard.errors import SetupError

if TYPE_CHECKING:
    from wizard.checklist_facts import Fact
    from wizard.engine import Session
    from wizard.rollback import RollbackPlan
    from wizard.verify import VerifyReport

MARKS = {"pass": ("✓", "green"), "fail": ("✗", "red"), "skipped": (SKIPPED_MARK, "dim")}
# A fact from a service: "info" is something to look at, "unknown" a service not read.
FACT_MARKS = {**MARKS, "info": ("•", "yellow"), "unknown": ("?", "yellow")}
T = TypeVar("T")


class FactsRead(Message):
    def __init__(self, facts: dict[str, Fact]) -> None:
        super().__init__()
        self.facts = facts


class VerifyDone(Message):
    def __init__(self, report: VerifyReport | None, error: str | None) -> None:
        super().__init__()
        self.report = report
        self.error = error


class RollbackPlanned(Message):
    def __init__(self, plan: RollbackPlan | None, error: str | None) -> None:
        super().__init__()
        self.plan = plan
        self.error = error


class RolledBack(Message):
    def __init__(self, plan: RollbackPlan, error: str | None) -> None:
        super().__init__()
        self.plan = plan
        self.error = error


class DonePane(Pane):
    page = "done"
    page_title = "Done"
    # On the pane: the footer offers it only on this page, and only when there is a
    # production deployment to roll back from (``can``).
    BINDINGS: ClassVar[list[BindingType]] = [Binding("ctrl+b", "rollback", "Roll back")]

    def __init__(self, session: Session, *, dry_run: bool, auto_verify: bool = False) -> None:
        super().__init__(session, dry_run=dry_run)
        # The walk has just made the site live: check it without being asked (once).
        self.auto_verify = auto_verify
        # A promotion sent (or about to be): its outcome must not be lost to a page change.
        self._promoting = False

    def running_work(self) -> tuple[str, str] | None:
        if self._promoting:
            return ("A rollback is running", "a promotion Vercel accepted still takes effect")
        return None

    def set_busy(self, busy: bool) -> None:
        super().set_busy(busy)
        for button in self.query("#btn-rollback").results(Button):
            button.disabled = busy

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
            rollback = (
                " ctrl+b rolls production back to the previous deployment (it asks first)."
                if self.can_roll_back()
                else ""
            )
            yield Static(
                "Post-deployment checklist (from the deployment guide). Once the site is "
                f"deployed, ctrl+t checks {url or 'the production URL'} for you.{rollback}",
                classes="pane-guide",
                markup=False,
            )
            with Vertical(id="post-checklist"):
                for i, (item, _prefixes) in enumerate(CHECKLIST):
                    yield MarkedCheckbox(Text(item), compact=True, id=f"post-{i}")
                    fact = Static("", id=f"fact-{i}", classes="checklist-fact")
                    fact.display = False  # until a service answers for this item
                    yield fact
            yield MarkedCheckbox(
                "Include the rate-limit probe (sends up to 110 requests)",
                compact=True,
                id="rate-limit-opt",
            )
            yield Static("", id="verify-results")
            result = Static("", id="rollback-result", classes="pane-guide")
            result.display = False  # until there is a rollback to report
            yield result
        with Horizontal(classes="check-bar"):
            yield Static("", id="check-result", markup=False)
        extra = (
            [Button("Roll back…", id="btn-rollback", compact=True, variant="warning")]
            if self.can_roll_back()
            else []
        )
        yield action_buttons(skip=False, check=True, next_label="Quit", extra=extra)

    def can_roll_back(self) -> bool:
        """A production that this walk deployed (the rollback needs its Vercel project)."""
        return self.session.environment == "production" and self.session.status("deploy") == "done"

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
        if self.auto_verify and not self.dry_run:
            self.call_after_refresh(self.action_check)
        self._show_reading()
        self._facts_worker()

    def _show_reading(self) -> None:
        """Under each item a service will answer: what is being read, until it answers."""
        try:
            from wizard.checklist_facts import planned

            reading = planned(self.session)
        except Exception:  # only a courtesy: the facts themselves still come
            return
        for i, (item, _prefixes) in enumerate(CHECKLIST):
            if item in reading:
                for line in self.query(f"#fact-{i}").results(Static):
                    line.update(Text(f"· reading {reading[item]}…", style="dim"))
                    line.display = True

    def focus_first(self) -> None:
        # ``query``, not ``query_one``: asked right after a page change, the pane may not
        # have its children yet.
        for check in self.query("#btn-check").results(Button):
            if not check.disabled:
                check.focus()
                return
        super().focus_first()

    def can(self, action: str) -> bool | None:
        if action in ("check", "next"):
            return None if self.busy else True
        return False

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "rollback":
            if not self.can_roll_back():
                return False
            return None if self.busy else True
        return True

    def help_text(self) -> str:
        return (
            "The guide's post-deployment checklist. ctrl+t runs the site checks (HTTPS, "
            "headers, caching, the webhook route, optionally rate limiting) against the "
            "production URL; what they cover is ticked or marked failed. Tick the rest as "
            "you do them. ctrl+b rolls production back to the previous READY deployment "
            "(the guide's Rollback Procedure): it lists the deployments and asks first. "
            "ctrl+q quits."
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

    # -- facts from the services ----------------------------------------------------------
    @work(exclusive=True, exit_on_error=False, group="facts")
    async def _facts_worker(self) -> None:
        try:
            from wizard.checklist_facts import gather

            facts = await gather(self.session)
        except Exception:  # gather answers for each service; this is the unforeseen
            facts = {}
        self.post_message(FactsRead(facts))

    @on(FactsRead)
    def _facts_read(self, message: FactsRead) -> None:
        message.stop()
        for i, (item, _prefixes) in enumerate(CHECKLIST):
            fact = message.facts.get(item)
            if fact is None:
                for line in self.query(f"#fact-{i}").results(Static):
                    line.display = False  # a "reading…" line with no answer after all
                continue
            for box in self.query(f"#post-{i}").results(Checkbox):
                if fact.status == "pass":
                    box.value = True
                elif fact.status == "fail":
                    box.value = False
            for line in self.query(f"#fact-{i}").results(Static):
                line.update(fact_text(fact))
                line.display = True
        problems = [
            (f"Done: {fact.item}", f"{fact.detail} — {fact.fix}" if fact.fix else fact.detail)
            for fact in message.facts.values()
            if fact.status in ("fail", "unknown")
        ]
        if problems:
            self.post_message(ProblemsFound(problems))

    # -- rollback ------------------------------------------------------------------------
    @on(Button.Pressed, "#btn-rollback")
    def _rollback_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        self.action_rollback()

    def action_rollback(self) -> None:
        if self.busy or not self.can_roll_back():
            return
        self.set_busy(True)
        self.show_spinner(True)
        self.query_one("#check-result", Static).update("Reading production deployments…")
        self._rollback_plan_worker()

    @work(exclusive=True, exit_on_error=False, group="rollback")
    async def _rollback_plan_worker(self) -> None:
        async def plan() -> RollbackPlan:
            from wizard.rollback import choose

            await self.session.credentials_ready()
            return await choose(self.session.step_context("deploy"))

        found, error = await self._attempt(plan)
        self.post_message(RollbackPlanned(found, error))

    async def _attempt(self, call: Callable[[], Awaitable[T]]) -> tuple[T | None, str | None]:
        """``call``'s result, or the one line to show instead: a service's or a setup
        error as it says it (known secrets redacted), anything else by its type."""
        try:
            return await call(), None
        except (ProviderError, SetupError) as exc:
            return None, self.session.redact(str(exc))
        except Exception as exc:
            return None, f"the rollback stopped unexpectedly ({type(exc).__name__})"

    def _rollback_failed(self, error: str) -> None:
        self.query_one("#check-result", Static).update(f"✗ {error}")
        self.notify(error, severity="error")
        self.post_message(ProblemsFound([("Done: rollback", error)]))

    @on(RollbackPlanned)
    def _rollback_planned(self, message: RollbackPlanned) -> None:
        from wizard.rollback import migration_advice, render

        message.stop()
        self.show_spinner(False)
        self.set_busy(False)
        plan = message.plan
        if plan is None:
            self._rollback_failed(message.error or "the rollback could not be planned")
            return
        self.query_one("#check-result", Static).update("")
        lines = render(plan)
        if advice := migration_advice(plan):
            lines += ["", advice]
        listing = "\n".join(lines)
        served = f", in place of {plan.current}" if plan.current else ""
        if self.dry_run:
            self.app.push_screen(
                MessageModal(
                    "Roll back (dry run)",
                    f"Dry run: would promote {plan.target.id} (https://{plan.target.url}) to "
                    f"production{served}; nothing was changed.\n\n{listing}",
                    wide=True,
                )
            )
            return

        def answered(answer: str | None) -> None:
            if answer == "yes":
                self._start_promote(plan)

        # The question first: on a small terminal the list below it scrolls.
        self.app.push_screen(
            ConfirmModal(
                "Roll back production",
                f"Promote {plan.target.id} (https://{plan.target.url}) to production"
                f"{served}?\n\n{listing}",
                yes="Roll back",
                safe_default=True,
                wide=True,
            ),
            answered,
        )

    def _start_promote(self, plan: RollbackPlan) -> None:
        self._promoting = True
        self.set_busy(True)
        self.show_spinner(True)
        self.query_one("#check-result", Static).update(
            f"Promoting {plan.target.id}; waiting until production serves it…"
        )
        self._promote_worker(plan)

    @work(exclusive=True, exit_on_error=False, group="rollback")
    async def _promote_worker(self, plan: RollbackPlan) -> None:
        async def promoted() -> None:
            from wizard.rollback import promote

            await promote(self.session.step_context("deploy"), plan)

        _, error = await self._attempt(promoted)
        self.post_message(RolledBack(plan, error))

    @on(RolledBack)
    def _rolled_back(self, message: RolledBack) -> None:
        from wizard.rollback import migration_advice

        message.stop()
        self._promoting = False
        self.show_spinner(False)
        self.set_busy(False)
        if message.error:
            self._rollback_failed(message.error)
            return
        plan = message.plan
        done = f"Production now serves {plan.target.id} (https://{plan.target.url})."
        text = Text(f"✓ {done}", style="green")
        if advice := migration_advice(plan):
            text.append("\n" + advice)
        result = self.query_one("#rollback-result", Static)
        result.update(text)
        result.display = True
        self.call_after_refresh(result.scroll_visible)
        self.query_one("#check-result", Static).update(f"✓ {done}")
        self.notify(done, title="Rolled back")
        # What is live changed: check it again, as after a deploy.
        if self.session.site_is_live() and self.session.value("NEXTAUTH_URL"):
            self.action_check()


def fact_text(fact: Fact) -> Text:
    """A fact under its checklist item: the mark and detail, what to do, the page to open.

    Every part came from a service: appended as text (the link as a link style, never markup).
    """
    from rich.style import Style

    mark, style = FACT_MARKS.get(fact.status, ("·", ""))
    text = Text()
    text.append(f"{mark} ", style=style)
    text.append(fact.detail, style=style if fact.status in ("fail", "unknown") else "")
    if fact.fix:
        text.append(f"\n{fact.fix}", style="dim")
    if fact.link:
        text.append("\n")
        text.append(fact.link, style=Style(link=fact.link, underline=True, dim=True))
    return text
