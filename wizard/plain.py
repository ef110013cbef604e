"""``--plain``: the wizard's walk as questionary prompts, one line at a time.

The same steps, fields (``Session.visible_fields``), validators
(``Session.validate_value``) and help as the Textual app; secrets are asked with
password prompts and never echoed. Ctrl-C saves progress and exits 130. Without a
terminal it refuses (exit 1) and lists what ``apply`` would need instead.

questionary is imported inside functions only: ``wizard`` must not load a UI library
when imported.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TextIO

from providers.errors import ProviderError
from wizard.errors import SetupError, ValidationFailed

if TYPE_CHECKING:
    from pathlib import Path

    from wizard.catalogue import Field, Step
    from wizard.engine import RunResult, Session

EXIT_OK, EXIT_FAILED, EXIT_INTERRUPTED = 0, 1, 130
DEFAULT_SKIP_REASON = "skipped in the wizard"

# Step results of the walk.
NEXT, BACK, SKIP, QUIT = "next", "back", "skip", "quit"
# Fields that only mean something with a token: the Supabase project and its database
# password build DATABASE_URL through the Supabase API, which needs the access token.
TOKEN_DERIVED = {
    "supabase_project": "SUPABASE_ACCESS_TOKEN",
    "database_password": "SUPABASE_ACCESS_TOKEN",
}


def run_plain(session: Session, *, dry_run: bool) -> int:
    """Walk every step with line prompts; the exit code for the CLI."""
    if not sys.stdin.isatty():
        refuse_without_tty(session, sys.stderr)
        return EXIT_FAILED
    walk = PlainWalk(session, dry_run=dry_run or session.dry_run)
    try:
        code = walk.run()
    except (KeyboardInterrupt, EOFError):
        walk.save_quietly()
        _err("\ninterrupted: progress is saved; run dream-pixel-setup again to resume")
        code = EXIT_INTERRUPTED
    # What the terminal keeps, as the full-screen app prints it when it ends.
    from wizard.summary import SummaryFacts, exit_summary

    with contextlib.suppress(KeyboardInterrupt):  # a second ctrl+c: the summary is not owed
        _say()
        _say(exit_summary(session, SummaryFacts(dry_run=walk.dry_run, applied=walk.applied)))
    return code


def refuse_without_tty(session: Session, stream: TextIO) -> None:
    """No terminal to ask on: say what `apply` needs instead."""
    steps = [s.id for s in session.steps() if session.status(s.id) != "skipped"]
    problems = session.problems(steps)
    operator = sorted(
        {
            name
            for f in session.catalogue.all_fields()
            if f.kind == "operator"
            for name in f.env_names
        }
    )
    not_tty = [
        name
        for name, stream in (("standard input", sys.stdin), ("standard output", sys.stdout))
        if not stream.isatty()
    ]
    which = " and ".join(not_tty) + (" are not terminals" if len(not_tty) > 1 else " is not one")
    lines = [
        f"error: the wizard asks questions and needs a terminal ({which}).",
        "Run without prompts instead: `dream-pixel-setup plan` shows every change, then",
        "  dream-pixel-setup apply --yes --set KEY=VALUE ... [--env-file FILE] [--skip STEP,...]",
        "  with operator credentials in the environment: " + ", ".join(operator),
    ]
    if problems:
        lines.append("Inputs still needed:")
        lines.extend(f"  {p}" for p in problems)
    else:
        lines.append("Every input is already there: `dream-pixel-setup apply` can run as is.")
    stream.write("\n".join(lines) + "\n")


def _err(text: str) -> None:
    sys.stderr.write(text + "\n")


def _say(text: str = "") -> None:
    sys.stdout.write(text + "\n")
    sys.stdout.flush()


def _as_questionary_check(check: Callable[[str], str | None]) -> Callable[[str], bool | str]:
    """questionary wants True or the message to show."""

    def validate(text: str) -> bool | str:
        message = check(text)
        return True if message is None else message

    return validate


class PlainWalk:
    def __init__(self, session: Session, *, dry_run: bool) -> None:
        self.session = session
        self.dry_run = dry_run
        self.applied = False
        self._noticed: set[str] = set()

    def notice(self, text: str) -> None:
        """A notice is said once per walk (the keyring's, a plan's), however often it recurs."""
        if text not in self._noticed:
            self._noticed.add(text)
            _say(f"! {text}")

    # -- prompts (questionary, imported here) ------------------------------------------
    @staticmethod
    def _q() -> Any:
        import questionary

        return questionary

    def select(self, message: str, choices: list[str], default: str | None = None) -> str:
        answer = self._q().select(message, choices=choices, default=default).unsafe_ask()
        return str(answer)

    def confirm(self, message: str, default: bool) -> bool:
        return bool(self._q().confirm(message, default=default).unsafe_ask())

    def text(self, message: str, default: str, check: Callable[[str], str | None]) -> str:
        validate = _as_questionary_check(check)
        return str(self._q().text(message, default=default, validate=validate).unsafe_ask())

    def password(self, message: str, check: Callable[[str], str | None]) -> str:
        validate = _as_questionary_check(check)
        return str(self._q().password(message, validate=validate).unsafe_ask())

    def checkbox(self, message: str, choices: list[str], checked: bool) -> list[str]:
        q = self._q()
        items = [q.Choice(c, checked=checked) for c in choices]
        return list(q.checkbox(message, choices=items).unsafe_ask() or [])

    # -- the walk --------------------------------------------------------------------------
    def run(self) -> int:
        s = self.session
        _say(f"Dream Pixel setup: {s.environment}")
        if self.dry_run:
            _say("DRY RUN: nothing is written, stored or sent. The walk ends at the review.")
        self.ask_remembered()
        step_ids = [st.id for st in s.steps()]
        index = 0
        if s.has_progress():
            answer = self.select(
                f"Saved progress found ({self.progress_counts()}). What now?",
                ["Resume", "Review", "Start over"],
                default="Resume",
            )
            if answer == "Review":
                index = len(step_ids)
            elif answer == "Start over":
                forget = (
                    f"Forget the saved progress for {s.environment} and the credentials stored "
                    "in the keyring? (the env file stays)"
                )
                if self.dry_run:
                    _say("Dry run: saved progress is kept; walking from the first step.")
                elif self.confirm(forget, default=False):
                    s.reset()
            else:
                index = self.next_unfinished(-1)
        while index < len(step_ids):
            outcome = self.step(s.steps()[index], first=index == 0)
            # Back goes one step back; forward skips what is already done or skipped.
            index = max(index - 1, 0) if outcome == BACK else self.next_unfinished(index)
        return self.review()

    def ask_remembered(self) -> None:
        """Destinations remembered from the last run are used only once confirmed."""
        lines = self.session.remembered_lines()
        if not lines:
            return
        _say("\n".join(["Remembered from the last run (not given now):", *lines]))
        use = self.confirm("Send to these destinations again?", default=False)
        self.session.confirm_remembered(use)

    def progress_counts(self) -> str:
        """ "3 of 12 steps done, 2 skipped, 1 failed" """
        statuses = [self.session.status(st.id) for st in self.session.steps()]
        text = f"{statuses.count('done')} of {len(statuses)} steps done"
        for status in ("skipped", "failed"):
            if n := statuses.count(status):
                text += f", {n} {status}"
        return text

    def next_unfinished(self, index: int) -> int:
        """The index of the next step after ``index`` still to do (len: the review)."""
        steps = self.session.steps()
        for i in range(index + 1, len(steps)):
            if self.session.status(steps[i].id) not in ("done", "skipped"):
                return i
        return len(steps)

    def step(self, step: Step, *, first: bool = False) -> str:
        s = self.session
        _say()
        _say(f"== {step.title} ==")
        _say(step.summary)
        status = s.status(step.id)
        if step.id == "prerequisites":
            return self.prerequisites(step)
        for line in step.guide:
            _say(f"  • {line}")
        if step.console_url:
            _say(f"  Console: {step.console_url}")
        if status in ("done", "skipped"):
            note = "done" if status == "done" else f"skipped ({s.skip_reason(step.id)})"
            choices = ["Keep as is", "Edit", "Skip" if status == "done" else "Include it"]
            answer = self.select(f"{step.title} is {note}.", choices, default="Keep as is")
            if answer == "Keep as is":
                return NEXT
            if answer == "Skip":
                return self.skip(step)
            return self.fill(step)
        go = "Fill in" if step.fields else "Continue"
        choices = [go, "Skip this step"] + ([] if first else ["Back"])
        answer = self.select(f"{step.title}:", choices, default=go)
        if answer == "Back":
            return BACK
        if answer == "Skip this step":
            return self.skip(step)
        return self.fill(step)

    def fill(self, step: Step) -> str:
        """Ask the fields, then check them live until they pass or the user moves on."""
        while True:
            self.ask_fields(step)
            if not step.fields:
                return NEXT
            verdict = self.live_check(step)
            if verdict != "edit":
                return verdict

    def prerequisites(self, step: Step) -> str:
        from pathlib import Path

        found = _local_checks(Path(self.session.project_dir))
        for name, ok in found.items():
            _say(f"  {'✓' if ok else '✗'} {name}" + ("" if ok else "  (not found)"))
        done = self.session.status(step.id) == "done"
        ticked = self.checkbox(
            "Tick what you have (space to tick, enter when done)", list(step.guide), done
        )
        missing = len(step.guide) - len(ticked)
        self.ask_fields(step)
        self.session.mark_done(step.id)
        if missing:
            _say(f"  ! {missing} checklist item(s) not ticked: later steps need those accounts.")
        return NEXT

    def skip(self, step: Step) -> str:
        reason = self.text(
            f"Why skip {step.title}? (recorded with your progress; no secrets)",
            "",
            lambda _text: None,
        )
        self.session.mark_skipped(step.id, reason.strip() or DEFAULT_SKIP_REASON)
        return SKIP

    def ask_fields(self, step: Step) -> None:
        """Every visible field once, re-reading visibility after each answer (choices)."""
        s = self.session
        asked: set[str] = set()
        while True:
            pending = [f for f in s.visible_fields(step.id) if f.key not in asked]
            if not pending:
                break
            f = pending[0]
            asked.add(f.key)
            needs = TOKEN_DERIVED.get(f.key)
            if needs and not s.value(needs):
                continue  # asked only with the token that makes it useful
            value = self.ask_field(f)
            if value is not None and value != (s.value(f.key) or ""):
                s.set_value(f.key, value)
        _include_if_skipped(s, step.id)
        s.save()

    def ask_field(self, f: Field) -> str | None:
        """The answer, or None to keep what is there."""
        from wizard.discover import describe_source

        s = self.session
        current = s.value(f.key)
        label = f"{f.label} ({f.key})"
        if f.help:
            _say(f"  {f.help}")
        source = describe_source(s.values.operator_source.get(f.key))
        if current and f.kind == "operator" and source:
            label += f" [{source}]"
        if f.choices:
            return self.select(
                label, list(f.choices), default=current if current in f.choices else None
            )
        if f.source == "generated":
            # A value generated as the session opened is not a "current" one worth keeping.
            if current and s.values.app_source.get(f.key) != "generated":
                choices = ["Keep the current value", "Generate a new one", "Enter my own"]
            else:
                choices = ["Generate one", "Enter my own"]
            answer = self.select(label, choices)
            if answer == "Keep the current value":
                return None
            if answer.startswith("Generate"):
                if answer == "Generate a new one" or not current:
                    s.generate(f.key)
                _say("  generated (hidden)")
                return None
        if f.secret:
            keep = " (Enter keeps the current value)" if current else ""

            def check_secret(text: str) -> str | None:
                if text == "" and current:
                    return None
                return s.validate_value(f.key, text)

            answer = self.password(label + keep, check_secret)
            return None if answer == "" and current else answer
        return self.text(label, current or "", lambda text: s.validate_value(f.key, text))

    def live_check(self, step: Step) -> str:
        """Run the step's live check; NEXT when it passed or the user goes on anyway."""
        from wizard.engine import step_module

        if getattr(step_module(step.id), "check", None) is None:
            return NEXT  # nothing to check live: claim nothing
        _say(f"  checking {step.title}…")
        try:
            report = asyncio.run(self.session.check_step(step.id))
        except Exception as exc:
            _say(f"  ✗ {_describe(exc, step.title + ': the check')}")
            answer = self.select(
                "The live check failed. What now?",
                ["Edit the values", "Continue anyway", "Skip this step"],
                default="Edit the values",
            )
            if answer == "Continue anyway":
                return NEXT
            if answer == "Skip this step":
                return self.skip(step)
            return "edit"
        _say("  ✓ live check passed")
        for notice in report.notices:
            self.notice(notice)
        return NEXT

    # -- review and apply --------------------------------------------------------------------
    def selected(self) -> list[str]:
        return [st.id for st in self.session.steps() if self.session.status(st.id) != "skipped"]

    def review(self) -> int:
        s = self.session
        while True:
            _say()
            _say("== Review ==")
            _say("Planning: live checks read from each service…")
            try:
                result = asyncio.run(s.plan(self.selected()))
            except ValidationFailed as exc:
                if not self.fix(exc.problems, {}):
                    return self.stop()
                continue
            except Exception as exc:
                _err(f"error: {_describe(exc, 'planning')}")
                return self.stop()
            if result.failures:
                if not self.fix([], result.failures):
                    return self.stop()
                continue
            break
        self.show_plan(result)
        from wizard.destinations import render_destinations

        _say(render_destinations(s.destinations(self.selected())))
        if self.dry_run:
            _say("Dry run: nothing was written or sent.")
            return EXIT_OK
        if not self.confirm(f"Apply these changes to {s.environment}?", default=False):
            _say("Nothing was applied. Progress is saved; run again to continue.")
            s.save()
            return EXIT_OK
        return self.apply()

    def fix(self, problems: list[str], failures: dict[str, str]) -> bool:
        """Show what blocks the plan and offer the steps to edit; False to stop."""
        s = self.session
        titles = {st.id: st.title for st in s.steps()}
        targets: list[str] = []
        for problem in problems:
            _err(f"  ✗ {problem}")
            step_id = s.catalogue.step_of(problem.split(":", 1)[0])
            if step_id and step_id not in targets:
                targets.append(step_id)
        for step_id, message in failures.items():
            _err(f"  ✗ {message}")
            if step_id not in targets:
                targets.append(step_id)
        choices = [f"Edit {titles.get(t, t)}" for t in targets] + [
            f"Skip {titles.get(t, t)}" for t in targets if t != "prerequisites"
        ]
        choices.append("Quit (progress is saved)")
        answer = self.select("These block the plan. What now?", choices)
        for t in targets:
            if answer == f"Edit {titles.get(t, t)}":
                step = next(st for st in s.steps() if st.id == t)
                self.step(step, first=True)
                return True
            if answer == f"Skip {titles.get(t, t)}":
                self.skip(next(st for st in s.steps() if st.id == t))
                return True
        return False

    def stop(self) -> int:
        self.save_quietly()
        _say("Stopped. Progress is saved; run again to continue.")
        return EXIT_FAILED

    def show_plan(self, result: RunResult) -> None:
        from wizard.output import (
            operator_sources,
            render_changes,
            render_operator_sources,
            use_color,
        )

        if sources := render_operator_sources(operator_sources(self.session, self.selected())):
            _say(sources)
        _say(render_changes(result.changes, color=use_color(sys.stdout)))
        for notice in result.notices:
            self.notice(notice)

    def apply(self) -> int:
        s = self.session
        titles = {st.id: st.title for st in s.steps()}

        def on_progress(step_id: str, done: int, total: int, label: str) -> None:
            _say(f"    {titles.get(step_id, step_id)}: {label} ({done}/{total})")

        def on_step(step_id: str, status: str, message: str | None) -> None:
            mark = {"done": "✓", "failed": "✗", "running": "…"}.get(status, "·")
            _say(
                f"  {mark} {titles.get(step_id, step_id)} {status}"
                + (f": {message}" if message else "")
            )

        def on_output(step_id: str, line: str) -> None:
            _err(f"    {titles.get(step_id, step_id)} │ {line}")

        try:
            result = asyncio.run(
                s.apply(
                    self.selected(), on_progress=on_progress, on_step=on_step, on_output=on_output
                )
            )
        except ValidationFailed as exc:
            for problem in exc.problems:
                _err(f"error: {problem}")
            _err("nothing was written or sent")
            return EXIT_FAILED
        except Exception as exc:
            _err(f"error: {_describe(exc, 'apply')}")
            return EXIT_FAILED
        for notice in result.notices:
            self.notice(notice)
        if not result.ok:
            for message in result.failures.values():
                _err(f"error: {message}")
            _err("finished steps are saved; fix the failure and run again to continue")
            return EXIT_FAILED
        _say("✓ Applied.")
        self.applied = True
        self.post_deploy()
        return EXIT_OK

    def post_deploy(self) -> None:
        url = self.session.value("NEXTAUTH_URL")
        _say("Post-deployment checklist (deployment guide): HTTPS and headers, auth flow, email, ")
        _say("payments, Sentry, backups, uploads, CI runs, CDN caching, rate limiting, migrations.")
        self.checklist_facts()
        # Deployed and on its domain: end on a verified site without being asked.
        live = self.session.site_is_live()
        if not url or not (
            live or self.confirm(f"Check {url} now (once it is deployed)?", default=False)
        ):
            _say(f"Later: dream-pixel-setup verify --url {url or 'https://your.site'}")
            return
        from wizard.verify import VerifyUrlError, render_text, run_checks

        try:
            report = asyncio.run(run_checks(url))
        except VerifyUrlError as exc:
            _err(f"error: {exc}")
            return
        except KeyboardInterrupt:  # the apply is done: stopping the checks loses nothing
            _err(f"checks stopped; later: dream-pixel-setup verify --url {url}")
            return
        from wizard.output import use_color

        _say(render_text(report, use_color(sys.stdout)))

    def checklist_facts(self) -> None:
        """What the services say about backups, Sentry's issues and the last CI run."""
        from wizard.checklist_facts import gather, render_lines

        try:
            facts = asyncio.run(gather(self.session))
        except Exception as exc:  # gather answers per service; this is the unforeseen
            _err(f"could not read the checklist's facts ({type(exc).__name__})")
            return
        lines = render_lines(facts)
        if lines:
            _say("From the services:")
            for line in lines:
                _say(line)

    def save_quietly(self) -> None:
        try:
            self.session.save()
        except (SetupError, OSError) as exc:
            _err(f"could not save progress: {exc}")


def _describe(exc: BaseException, what: str) -> str:
    """The user's line for an error: ours carry one; anything else shows only its type
    (its text could hold a value)."""
    if isinstance(exc, ProviderError | SetupError):
        return str(exc)
    return f"{what} stopped unexpectedly ({type(exc).__name__})"


def _include_if_skipped(session: Session, step_id: str) -> None:
    """A skipped step the user fills in after all is pending again."""
    if session.status(step_id) != "skipped":
        return
    session.mark_pending(step_id)


def _local_checks(project_dir: Path) -> dict[str, bool]:
    from wizard.steps.prerequisites import local_checks

    return local_checks(project_dir)
