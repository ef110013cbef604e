"""The guide's Rollback Procedure, UI-free: promote an earlier READY production deployment.

``choose`` lists the recent READY production deployments and picks the one before the one
production serves (or the one named); ``promote`` sends
``POST /v10/projects/{projectId}/promote/{deploymentId}`` and waits until the project's
production target is that deployment. When a deployment being rolled back came with
migrations (the deploy step records which ones each of its deployments was made with), the
code going back may not match the database: the caller prints the guide's advice.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from providers.errors import NotFound, ProviderError
from providers.vercel import SERVICE
from providers.vercel_deployments import Deployment, DeploymentsClient, production_of
from wizard.context import StepContext
from wizard.steps.deploy import _client
from wizard.steps.vercel import _settings

WAIT_SECONDS = 300.0
POLL_SECONDS = 2.0


@dataclass
class RollbackPlan:
    project_id: str
    project_name: str
    current: str | None  # what production serves now
    target: Deployment
    candidates: list[Deployment]  # recent READY production deployments, newest first
    # Migrations that came with the deployments being rolled back (newest first).
    migrations: list[str] = field(default_factory=list)


async def choose(ctx: StepContext, to: str | None = None) -> RollbackPlan:
    """What a rollback would do: reads only."""
    token, project, team = _settings(ctx)
    async with _client(ctx, token, team) as client:
        info = await client.project(project)
        project_id = str(info.get("id") or project)
        current = production_of(info)
        listed = await client.production_deployments(project_id)
        ready = [d for d in listed if d.state == "READY"]
        current_id = current[0] if current else None
        if to:
            target = next((d for d in listed if d.id == to), None)
            if target is None:
                target = await client.deployment(to)
            if target.state != "READY":
                raise ProviderError(
                    SERVICE,
                    f"deployment {to} is {target.state.lower() or 'unknown'}, not READY",
                    key="--to",
                    hint="choose a READY production deployment (dream-pixel-setup rollback "
                    "--dry-run lists them)",
                )
        else:
            served = next((d for d in ready if d.id == current_id), None)
            older = [
                d
                for d in ready
                if d.id != current_id and (not served or d.created_at < served.created_at)
            ]
            if not older:
                raise NotFound(
                    SERVICE,
                    "there is no earlier READY production deployment to roll back to",
                    key="deployment",
                    hint="nothing was changed",
                )
            target = older[0]
    history = ctx.memory.get("history")
    made_with = history if isinstance(history, dict) else {}
    newer = [d.id for d in listed if d.created_at > target.created_at]
    migrations: list[str] = []
    for deployment_id in newer:
        for name in made_with.get(deployment_id) or []:
            if name not in migrations:
                migrations.append(str(name))
    return RollbackPlan(
        project_id, str(info.get("name") or project), current_id, target, ready, migrations
    )


async def promote(ctx: StepContext, plan: RollbackPlan, wait: float = WAIT_SECONDS) -> None:
    """Promote ``plan.target`` and wait until production serves it."""
    token, project, team = _settings(ctx)
    async with _client(ctx, token, team) as client:
        await client.promote(plan.project_id, plan.target.id)
        await _until_served(client, project, plan.target.id, wait)


async def _until_served(client: DeploymentsClient, project: str, wanted: str, wait: float) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + wait
    while True:
        current = production_of(await client.project(project))
        if current and current[0] == wanted:
            return
        if loop.time() + POLL_SECONDS > deadline:
            raise ProviderError(
                SERVICE,
                f"production does not serve {wanted} yet after {int(wait)} s",
                key="deployment",
                hint="the promotion was accepted: check the project's Deployments page, and run "
                "the rollback again if it did not take",
            )
        await asyncio.sleep(POLL_SECONDS)


MIGRATION_ADVICE = (
    "The database kept the migrations made with the newer deployments ({names}). If the "
    "restored code does not work with them: restore the database from a backup taken before "
    "them (Supabase → Database → Backups), or undo each by hand and mark it with "
    "`npx prisma migrate resolve --rolled-back <name>`."
)


def migration_advice(plan: RollbackPlan) -> str:
    """The guide's database advice when the deployments rolled back came with migrations
    (empty when none did)."""
    return MIGRATION_ADVICE.format(names=", ".join(plan.migrations)) if plan.migrations else ""


def render(plan: RollbackPlan) -> list[str]:
    lines = ["Recent READY production deployments (newest first):"]
    for d in plan.candidates[:10]:
        marks = []
        if d.id == plan.current:
            marks.append("production now")
        if d.id == plan.target.id:
            marks.append("rollback target")
        suffix = f"  ← {', '.join(marks)}" if marks else ""
        lines.append(f"  {d.id}  {d.url}{suffix}")
    if plan.target.id not in {d.id for d in plan.candidates[:10]}:
        lines.append(f"  {plan.target.id}  {plan.target.url}  ← rollback target")
    return lines
