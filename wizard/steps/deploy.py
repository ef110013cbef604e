"""Step "deploy" (guide, Deployment Step 4): a production deployment, so pushed values take effect.

Vercel applies environment variables only to new deployments. A deploy is needed when a
Vercel value changes in this run, when the current production deployment was created
before the latest change of an entry that serves production, or when there is none;
otherwise the step plans nothing and creates nothing.

It redeploys the current production deployment (``POST /v13/deployments`` with ``name``,
``deploymentId``, ``target: production``: the same commit, built with the new values), or,
with none yet, deploys the linked repository's production branch (``gitSource``). It
watches ``GET /v13/deployments/{id}`` until READY, ERROR or CANCELED, at most one request
every 2 s, bounded by ``deploy_timeout`` minutes (``--deploy-timeout``, default 20).

The deployment id is checkpointed into the state the moment it exists (and the intent to
create one just before), so an interrupted watch (ctrl-c, kill -9, a lost network) resumes
watching the same deployment on the next run and never starts a second one. On ERROR the
step fails with the last lines of the build log, every known secret redacted.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from typing import Any, cast

from providers.errors import ProviderError
from providers.text import printable
from providers.vercel import SERVICE, EnvVar
from providers.vercel_deployments import (
    Deployment,
    DeploymentsClient,
    GitLink,
    production_of,
)
from wizard.context import StepContext
from wizard.steps.vercel import _serving, _settings, scoped_client

TARGET = "vercel"
RESOURCE = "deployment"
SCRATCH = "deploy.remote"
TIMEOUT_CHOICE = "deploy_timeout"
DEFAULT_TIMEOUT_MINUTES = 20
POLL_FIRST, POLL_MAX = 2.0, 10.0  # seconds between state reads: never more than one per 2 s
LOG_LINES = 30
# A create whose answer was lost is looked for among deployments made since (clock skew).
ORPHAN_SLACK_MS = 60 * 1000


@dataclass
class Remote:
    project_id: str
    project_name: str
    production: tuple[str, int] | None  # id, createdAt (ms)
    link: GitLink | None
    latest_change: int  # ms: the newest updatedAt of an entry serving production
    watching: Deployment | None  # ours, unfinished, from an earlier run


def _client(ctx: StepContext, token: str, team: str | None) -> DeploymentsClient:
    return scoped_client(ctx, DeploymentsClient, token, team)


def _latest_change(envs: list[EnvVar], target: str) -> int:
    return max((e.updated_at or 0 for e in _serving(envs, target).values()), default=0)


async def _remote(ctx: StepContext) -> Remote:
    token, project, team = _settings(ctx)
    async with _client(ctx, token, team) as client:
        info = await client.project(project)
        project_id = str(info.get("id") or project)
        envs = await client.list_env(project_id)
        watching = None
        remembered = ctx.memory.get("id")
        if isinstance(remembered, str) and remembered:
            found = await client.deployment(remembered)
            watching = None if found.final else found
        elif ctx.memory.get("creating"):
            watching = await _orphan(ctx, client, project_id)
    return Remote(
        project_id=project_id,
        project_name=str(info.get("name") or project),
        production=production_of(info),
        link=GitLink.of(info),
        latest_change=_latest_change(envs, ctx.environment),
        watching=watching,
    )


async def _orphan(
    ctx: StepContext, client: DeploymentsClient, project_id: str
) -> Deployment | None:
    """A deployment an interrupted run asked for but never recorded (killed between the
    request and its answer): adopted rather than doubled."""
    since = int(ctx.memory.get("creating") or 0) - ORPHAN_SLACK_MS
    recent = [d for d in await client.production_deployments(project_id) if d.created_at >= since]
    if not ctx.dry_run:
        ctx.memory.pop("creating", None)
    if not recent:
        return None
    newest = recent[0]
    if not ctx.dry_run:
        ctx.memory.update(id=newest.id, created=newest.created_at)
    return None if newest.final else newest


async def check(ctx: StepContext) -> None:
    if ctx.environment != "production":
        return
    ctx.scratch[SCRATCH] = await _remote(ctx)


def _vercel_pushes(changes: list[Any]) -> list[str]:
    """The Vercel values a run adds, updates or removes (they serve only new deployments)."""
    return [
        c.name
        for c in changes
        if c.target == "vercel" and c.kind == "key" and c.action in ("add", "update", "remove")
    ]


def _reason(ctx: StepContext, remote: Remote) -> str | None:
    """Why a deployment is needed now, or None."""
    pushed = _vercel_pushes(ctx.run_changes)
    if pushed:
        return f"{len(pushed)} Vercel value{'s' if len(pushed) > 1 else ''} changed in this run"
    if remote.production is None:
        return "the project has no production deployment yet"
    if remote.latest_change > remote.production[1]:
        return "production was built before the latest environment change"
    return None


def _timeout(ctx: StepContext) -> float:
    raw = ctx.choice(TIMEOUT_CHOICE)
    try:
        minutes = float(raw) if raw else DEFAULT_TIMEOUT_MINUTES
    except ValueError:
        minutes = DEFAULT_TIMEOUT_MINUTES
    return max(1.0, minutes) * 60.0


async def run(ctx: StepContext) -> None:
    if ctx.environment != "production":
        ctx.notice(
            f"Deploy: the wizard deploys production only; {ctx.environment} values take effect "
            "on the next deployment of that environment."
        )
        return
    if not isinstance(ctx.scratch.get(SCRATCH), Remote):
        await check(ctx)
    remote = cast(Remote, ctx.scratch[SCRATCH])
    if remote.watching is not None:
        d = remote.watching
        ctx.change(
            TARGET,
            f"{RESOURCE}:{d.id}",
            "check",
            f"{d.state.lower()}; started by an earlier run, watched until it ends",
            kind="resource",
        )
        if ctx.dry_run:
            return
        token, _, team = _settings(ctx)
        async with _client(ctx, token, team) as client:
            await _watch(ctx, client, d)
        return
    reason = _reason(ctx, remote)
    if reason is None:
        return
    if remote.production is not None:
        detail = f"redeploy {remote.production[0]} to production: {reason}"
    elif remote.link is not None:
        detail = (
            f"deploy {remote.link.org}/{remote.link.repo}@{remote.link.production_branch} "
            f"to production: {reason}"
        )
    else:
        raise ProviderError(
            SERVICE,
            f"project {remote.project_name} has no production deployment and no linked Git "
            "repository to build one from",
            key="VERCEL_PROJECT_ID",
            hint="connect the repository (Vercel → Project → Settings → Git) or deploy once "
            "with `vercel --prod`, then run again",
        )
    ctx.change(TARGET, RESOURCE, "create", detail, kind="resource")
    if ctx.dry_run:
        return
    token, _, team = _settings(ctx)
    async with _client(ctx, token, team) as client:
        # The intent first: a kill between the request and its answer is found next run.
        for key in ("id", "created", "state"):
            ctx.memory.pop(key, None)
        ctx.memory["creating"] = int(time.time() * 1000)
        ctx.checkpoint()
        if remote.production is not None:
            created = await client.redeploy(remote.project_name, remote.production[0])
        else:
            assert remote.link is not None
            created = await client.deploy_branch(remote.project_name, remote.link)
        ctx.memory.pop("creating", None)
        ctx.memory.update(id=created.id, created=created.created_at)
        _remember_migrations(ctx, created.id)
        ctx.checkpoint()
        ctx.output(f"deployment {created.id} created ({created.state.lower() or 'queued'})")
        await _watch(ctx, client, created)


async def _watch(ctx: StepContext, client: DeploymentsClient, deployment: Deployment) -> None:
    """Poll until the deployment ends; READY is success, anything else a failure."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + _timeout(ctx)
    delay = POLL_FIRST
    state = deployment.state
    current = deployment
    ctx.progress(0, 1, f"deployment {current.state.lower() or 'queued'}")
    while not current.final:
        if loop.time() + delay > deadline:
            raise ProviderError(
                SERVICE,
                f"deployment {current.id} is still {current.state.lower()} after "
                f"{int(_timeout(ctx) // 60)} minutes",
                key="deploy_timeout",
                hint="run again to keep watching it (no second deployment is started), or "
                "raise --deploy-timeout",
            )
        await asyncio.sleep(delay)
        delay = min(POLL_MAX, delay * 1.5)
        current = await client.deployment(current.id)
        if current.state != state:
            state = current.state
            ctx.output(f"deployment {current.id}: {state.lower()}")
            ctx.progress(0, 1, f"deployment {state.lower()}")
    ctx.memory["state"] = current.state
    if current.state == "READY":
        ctx.progress(1, 1, "deployment ready")
        ctx.output(f"deployment {current.id} is ready: https://{current.url}")
        return
    lines = await client.build_log(current.id, LOG_LINES)
    for line in lines:
        ctx.output(ctx.redact(printable(line)))
    reason = ctx.redact(printable(current.error)) if current.error else current.state.lower()
    raise ProviderError(
        SERVICE,
        f"deployment {current.id} ended {current.state}: {reason[:200]}"
        + (f" (the last {len(lines)} lines of its build log are above)" if lines else ""),
        key=RESOURCE,
        hint="fix the build, push, and run again; production still serves the previous deployment",
    )


def _remember_migrations(ctx: StepContext, deployment_id: str) -> None:
    """Which migrations this run applied, kept for the deployment just created (the last 20
    deployments): a rollback past it then warns that the database kept them."""
    names = [
        c.name.removeprefix("migration:")
        for c in ctx.run_changes
        if c.target == "database" and c.name.startswith("migration:") and c.action == "apply"
    ]
    history = ctx.memory.get("history")
    kept = dict(history) if isinstance(history, dict) else {}
    kept[deployment_id] = names
    ctx.memory["history"] = dict(list(kept.items())[-20:])


def redeploy_notice(changes: list[Any]) -> str | None:
    """The notice when Vercel values changed but the deploy step did not run."""
    if _vercel_pushes(changes):
        return (
            "Vercel: values take effect on the next deployment (the deploy step was skipped): "
            "run `dream-pixel-setup apply --only deploy` or redeploy in Vercel."
        )
    return None
