"""What the terminal keeps when the wizard ends: each step's outcome, what was written
where, where progress is kept, what was not kept, and the command to run next.

Plain text built from a Session (no UI): the full-screen app prints it after it leaves
the alternate screen, and any other front end may print it too. Never a value.
"""

from __future__ import annotations

import shlex
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from wizard.state import state_path

if TYPE_CHECKING:
    from wizard.engine import RunResult, Session

MARKS = {"done": "✓", "skipped": "–", "failed": "✗", "pending": "·"}
PROGRAM = "dream-pixel-setup"


@dataclass
class SummaryFacts:
    """What only the front end knows about how the session ended."""

    dry_run: bool = False
    # The plan shown last (a dry run's review): printed as `plan` prints it.
    plan: RunResult | None = None
    # Steps whose live check failed in this session (not recorded in the state).
    failed_checks: dict[str, str] = field(default_factory=dict)
    applied: bool = False


def command(session: Session, *args: str) -> str:
    """``dream-pixel-setup ARGS`` with the options that lead back to this session."""
    parts = [PROGRAM, *args]
    here = Path.cwd().resolve()
    if session.project_dir.resolve() != here:
        parts += ["--project-dir", str(session.project_dir)]
    if session.environment != "production":
        parts += ["--environment", session.environment]
    return shlex.join(parts)


def apply_command(session: Session) -> str:
    """``apply`` with the public answers and choices given in this run (a dry run keeps
    none); secrets come from the environment or the env file, never the command line."""
    args = ["apply"]
    for key, source in sorted(session.values.app_source.items()):
        value = session.values.app.get(key)
        if source == "set" and value and not session.is_secret(key):
            args += ["--set", f"{key}={value}"]
    for key, value in sorted(session.values.choices.items()):
        f = session.catalogue.field(key)
        if f is not None and value != f.default:
            args += ["--set", f"{key}={value}"]
    return command(session, *args)


def step_lines(session: Session, facts: SummaryFacts) -> list[str]:
    width = max(len(s.title) for s in session.steps())
    lines: list[str] = []
    for s in session.steps():
        status = session.status(s.id)
        reason = session.skip_reason(s.id)
        if status not in ("done", "skipped") and s.id in facts.failed_checks:
            status, reason = "failed", f"live check: {facts.failed_checks[s.id]}"
        line = f"  {MARKS.get(status, '·')} {s.title:<{width}}  {status}"
        if status == "skipped":
            line += f": {reason or 'no reason given'}"
        elif status == "failed" and reason:
            line += f": {reason}"
        lines.append(line)
    return lines


def written_lines(session: Session, facts: SummaryFacts) -> list[str]:
    if facts.dry_run:
        return ["Written: nothing (dry run)."]
    out: list[str] = []
    env_file = session.project_dir / f".env.{session.environment}"
    if session.status("env-file") == "done" and env_file.exists():
        out.append(f"  {env_file} (mode 0600, git-ignored)")
    if session.status("vercel") == "done":
        project = session.value("VERCEL_PROJECT_ID") or "the project"
        out.append(f"  Vercel: {project}, {session.environment} environment variables")
    if session.status("github") == "done":
        repo = session.value("GITHUB_REPOSITORY") or "the repository"
        out.append(f"  GitHub: Actions secrets of {repo}")
    services = [
        s.title
        for s in session.steps()
        if session.status(s.id) == "done"
        and s.id not in ("prerequisites", "secrets", "env-file", "vercel", "github")
    ]
    if services:
        out.append(f"  Services configured: {', '.join(services)}")
    return ["Written:", *out] if out else ["Written: nothing yet."]


def unkept_values(session: Session) -> list[str]:
    """Secrets typed in this run that nothing holds once it ends (no keyring for operator
    credentials; app secrets live only in the env file, not yet written)."""
    from wizard.envfile import load_env_file

    on_disk = load_env_file(session.project_dir / f".env.{session.environment}").values()
    missing: list[str] = []
    for key, source in session.values.operator_source.items():
        if source == "prompt" and session.is_secret(key) and key in session.values.operator:
            missing.append(key)
    for key, source in session.values.app_source.items():
        value = session.values.app.get(key)
        if source == "set" and session.is_secret(key) and value and on_disk.get(key) != value:
            missing.append(key)
    return sorted(set(missing))


def kept_lines(session: Session, facts: SummaryFacts) -> list[str]:
    if facts.dry_run:
        return ["Progress: not saved (dry run); answers typed in this run are not kept."]
    state = state_path(session.project_dir, session.environment)
    out = [f"Progress: {state} (no secret in it)."]
    keyring = sorted(k for k, src in session.values.operator_source.items() if src == "keyring")
    if keyring:
        out.append(f"In the OS keyring: {', '.join(keyring)}.")
    if missing := unkept_values(session):
        out.append(
            f"Not kept (type them again next time): {', '.join(missing)} — "
            + (
                "no OS keyring here, and secrets never go to a file but the env file."
                if not session.credentials.available
                else "secrets are written only with the env file."
            )
        )
    return out


def next_lines(session: Session, facts: SummaryFacts) -> list[str]:
    if facts.dry_run:
        return [
            f"Apply it: {command(session)} (the same walk, confirmed on the review), or "
            f"without the wizard: {apply_command(session)}"
        ]
    statuses = {s.id: session.status(s.id) for s in session.steps()}
    failed = [s for s, st in statuses.items() if st == "failed" or s in facts.failed_checks]
    failed = [s for s in failed if statuses[s] not in ("done", "skipped")]
    pending = [s for s, st in statuses.items() if st == "pending" and s not in failed]
    skipped = [s for s, st in statuses.items() if st == "skipped"]
    out: list[str] = []
    if failed:
        out.append(
            f"Next: fix {', '.join(failed)} and run {command(session)} to resume, or "
            f"{command(session, 'apply')} to retry without the wizard."
        )
    elif pending:
        title = next(s.title for s in session.steps() if s.id == pending[0])
        out.append(f"Next: {command(session)} resumes at {title}.")
    else:
        url = session.value("NEXTAUTH_URL")
        verify = command(session, "verify", *(["--url", url] if url else []))
        if session.site_is_live():
            out.append(f"Next: the site is live; check it again any time: {verify}")
        elif statuses.get("deploy") == "done" and session.environment == "production":
            out.append(f"Next: once the domain points at Vercel, check the live site: {verify}")
        else:
            out.append(f"Next: deploy, then check the live site: {verify}")
    if skipped:
        out.append(
            f"Skipped steps are taken up again by opening them in the wizard, or with "
            f"{command(session, 'apply', '--only', ','.join(skipped))}."
        )
    return out


def exit_summary(session: Session, facts: SummaryFacts | None = None) -> str:
    """The summary printed after the wizard ends."""
    facts = facts or SummaryFacts(dry_run=session.dry_run)
    statuses = [session.status(s.id) for s in session.steps()]
    head = (
        f"Dream Pixel setup, {session.environment}"
        + (" (dry run)" if facts.dry_run else "")
        + f": {statuses.count('done')} of {len(statuses)} steps done, "
        f"{statuses.count('skipped')} skipped, {statuses.count('failed')} failed."
    )
    parts = [head, *step_lines(session, facts)]
    if facts.dry_run and facts.plan is not None:
        from wizard.output import render_changes, use_color

        parts.append(f"Plan for {session.environment} (dry run: nothing was changed):")
        parts.append(render_changes(facts.plan.changes, color=use_color(sys.stdout)))
    parts += written_lines(session, facts)
    parts += kept_lines(session, facts)
    parts += next_lines(session, facts)
    return "\n".join(parts)
