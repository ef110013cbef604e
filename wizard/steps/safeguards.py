"""Step "safeguards" (guide, Security Configuration 5 and 6): Dependabot, secret scanning, Snyk.

Each setting is read first and written only when off, so a second run sends no write:
- Dependabot alerts, then Dependabot security updates (GitHub refuses the second while
  the first is off);
- ``.github/dependabot.yml`` (npm, weekly) written into the project only when it has none;
  the user's file is never replaced;
- secret scanning and push protection through ``security_and_analysis``; a repository whose
  plan lacks them answers 422, which is a notice naming the limit, remembered so later runs
  do not ask again until the repository's visibility changes;
- ``SNYK_TOKEN``, when given, is checked against Snyk in check(), which the engine runs
  before any step changes anything, so the github step never stores a token Snyk refuses.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

from providers import snyk
from providers.errors import PermissionDenied
from providers.github import DEFAULT_BASE_URL, SERVICE, require_repo_scope
from providers.github_security import SCANNING, PlanRefused, SecurityClient, admin_needed
from wizard.atomic import write_atomic
from wizard.context import StepContext, raise_first
from wizard.files import read_regular, refuse_link
from wizard.steps.github import _settings as github_settings

TARGET = "github"
SCRATCH = "safeguards.remote"
DEPENDABOT_FILE = Path(".github") / "dependabot.yml"
# GitHub reads either name; a project with either has its own configuration.
DEPENDABOT_NAMES = (DEPENDABOT_FILE, Path(".github") / "dependabot.yaml")
DEPENDABOT_YML = """\
# Written by dream-pixel-setup (Security Configuration: Dependabot). Edit freely: the wizard
# never overwrites this file.
version: 2
updates:
  - package-ecosystem: "npm"
    directory: "/"
    schedule:
      interval: "weekly"
    open-pull-requests-limit: 10
"""
LABELS = {
    "secret_scanning": "secret-scanning",
    "secret_scanning_push_protection": "secret-scanning-push-protection",
}


@dataclass
class Remote:
    repo: str
    private: bool
    alerts: bool
    updates: bool
    # feature -> "enabled" / "disabled" / "" (not shown to this token)
    scanning: dict[str, str] = field(default_factory=dict)
    snyk_user: str | None = None


def _settings(ctx: StepContext) -> tuple[str, str]:
    """The github step's token and repository (this step's Actions environment: none)."""
    token, repo, _ = github_settings(ctx)
    return token, repo


def _client(ctx: StepContext, token: str) -> SecurityClient:
    return SecurityClient(token, base_url=ctx.base_url("GITHUB_API_URL", DEFAULT_BASE_URL, SERVICE))


async def _snyk(ctx: StepContext) -> str | None:
    token = ctx.values.get("SNYK_TOKEN")
    if not token:
        return None
    base = ctx.base_url("SNYK_API_URL", snyk.DEFAULT_BASE_URL, snyk.SERVICE)
    return await snyk.whoami(token, base)


async def check(ctx: StepContext) -> None:
    token, repo = _settings(ctx)
    async with _client(ctx, token) as client:
        results = await asyncio.gather(
            client.user(),
            client.repository(repo),
            client.dependabot_alerts(repo),
            client.security_updates(repo),
            _snyk(ctx),
            return_exceptions=True,
        )
    raise_first(results[:1])
    _, scopes = cast(tuple[dict[str, Any], frozenset[str] | None], results[0])
    require_repo_scope(scopes, admin_needed(repo))
    raise_first(results[1:2])
    info = cast(dict[str, Any], results[1])
    permissions = info.get("permissions")
    if isinstance(permissions, dict) and permissions.get("admin") is False:
        raise PermissionDenied(
            SERVICE,
            f"the token's user is not an admin of {repo}",
            key="GITHUB_TOKEN",
            hint="Dependabot and secret scanning settings need admin: use an admin's token, "
            "or skip this step (--skip safeguards)",
        )
    raise_first(results[2:])
    analysis = info.get("security_and_analysis")
    scanning: dict[str, str] = {}
    for feature in SCANNING:
        entry = analysis.get(feature) if isinstance(analysis, dict) else None
        status = entry.get("status") if isinstance(entry, dict) else None
        scanning[feature] = str(status or "")
    ctx.scratch[SCRATCH] = Remote(
        repo=repo,
        private=bool(info.get("private")),
        alerts=bool(results[2]),
        updates=bool(results[3]),
        scanning=scanning,
        snyk_user=cast(str | None, results[4]),
    )


def _dependabot_file(ctx: StepContext) -> str:
    """The plan's action for .github/dependabot.yml: create, unchanged (ours), keep."""
    for rel in DEPENDABOT_NAMES:
        path = ctx.project_dir / rel
        refuse_link(path, what=rel.as_posix())
        data = read_regular(path, what=rel.as_posix(), max_bytes=256 * 1024)
        if data is not None:
            return "unchanged" if data == DEPENDABOT_YML.encode() else "keep"
    return "create"


def _refused(ctx: StepContext, remote: Remote) -> str | None:
    """The plan limit GitHub named last time for this repository and visibility."""
    memo = ctx.memory.get("scanning_refused")
    if (
        isinstance(memo, dict)
        and memo.get("repo") == remote.repo
        and memo.get("private") == remote.private
    ):
        return str(memo.get("message") or "not available on the repository's plan")
    return None


async def run(ctx: StepContext) -> None:
    if not isinstance(ctx.scratch.get(SCRATCH), Remote):
        await check(ctx)
    remote = cast(Remote, ctx.scratch[SCRATCH])
    if remote.snyk_user is not None:
        ctx.resource("snyk-token", "check", f"Snyk accepts SNYK_TOKEN ({remote.snyk_user})")

    alerts = "unchanged" if remote.alerts else "update"
    updates = "unchanged" if remote.updates else "update"
    ctx.change(TARGET, "dependabot-alerts", alerts, "enabled", kind="resource")
    ctx.change(TARGET, "dependabot-security-updates", updates, "enabled", kind="resource")

    refused = _refused(ctx, remote)
    wanted = tuple(f for f in SCANNING if remote.scanning.get(f) != "enabled")
    for feature in SCANNING:
        if feature not in wanted:
            ctx.change(TARGET, LABELS[feature], "unchanged", "enabled", kind="resource")
        elif refused:
            ctx.change(TARGET, LABELS[feature], "skip", refused, kind="resource")
        else:
            ctx.change(TARGET, LABELS[feature], "update", "enabled", kind="resource")

    file_action = _dependabot_file(ctx)
    detail = {
        "create": "npm, weekly",
        "unchanged": "npm, weekly",
        "keep": "the project's own; never overwritten",
    }[file_action]
    ctx.resource(DEPENDABOT_FILE.as_posix(), file_action, detail)

    if ctx.dry_run:
        return
    if file_action == "create":
        path = ctx.project_dir / DEPENDABOT_FILE
        path.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(path, DEPENDABOT_YML, mode=0o644)
        ctx.notice(f"{DEPENDABOT_FILE.as_posix()} written: commit it so Dependabot reads it")
    if alerts == "unchanged" and updates == "unchanged" and (refused or not wanted):
        return
    token, _ = _settings(ctx)
    async with _client(ctx, token) as client:
        if alerts == "update":
            await client.enable(remote.repo, "vulnerability-alerts")
        if updates == "update":
            # Only after the alerts are on: GitHub refuses security updates without them.
            await client.enable(remote.repo, "automated-security-fixes")
        if wanted and not refused:
            try:
                await client.enable_scanning(remote.repo, wanted)
            except PlanRefused as exc:
                limit = (
                    f"secret scanning and push protection are not available on {remote.repo}'s "
                    f"plan ({exc.message}): a private repository needs GitHub Secret "
                    "Protection (or Advanced Security); public repositories have it free"
                )
                ctx.notice(limit)
                ctx.memory["scanning_refused"] = {
                    "repo": remote.repo,
                    "private": remote.private,
                    "message": "not available on the repository's plan (GitHub answered 422)",
                }
                for feature in wanted:
                    _retarget(ctx, LABELS[feature])


def _retarget(ctx: StepContext, name: str) -> None:
    """What was planned as an update is reported as skipped: GitHub's plan refused it."""
    for i, change in enumerate(ctx.changes):
        if change.target == TARGET and change.name == name and change.action == "update":
            ctx.changes[i] = type(change)(
                change.target, name, "skip", "not available on the repository's plan", "resource"
            )
