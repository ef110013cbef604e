"""Step "migrate" (guide, Deployment Step 2): the project's Prisma migrations, applied once.

check(): reads ``_prisma_migrations`` over the direct connection and compares it with the
project's migration folders, as ``prisma migrate deploy`` will; a migration recorded as
failed blocks the step with the guide's ``prisma migrate resolve`` advice.
run(): the plan lists each pending migration; apply runs the project's own
``npx --no-install prisma migrate deploy`` (the direct URL in its environment, never its
argv), streams its redacted output, then reads the table again: success is checked, not
assumed. The guide's optional seed runs only on ``--set db_seed=yes`` and only when the
project declares one. A dry run only reads.
"""

from __future__ import annotations

from typing import Any

from providers.database_urls import for_prisma, is_pooled, query_params
from providers.errors import ProviderError
from providers.postgres import ALLOW_PASSWORD_CHOICE, run_read, scrub
from providers.postgres import SERVICE as PG_SERVICE
from providers.prisma_cli import SERVICE, Applied, read_applied, run_prisma
from wizard.context import StepContext
from wizard.prisma import MigrationPlan, PrismaProject, compare, read_project

TARGET = "database"  # the plan's target: what changes is the database
KIND = "resource"
PROJECT = "migrate.project"
PLAN = "migrate.plan"
URL = "migrate.url"
SEED_CHOICE = "db_seed"


def migration_url(ctx: StepContext) -> tuple[str, str]:
    """The connection migrations run over, and the key it came from."""
    direct = ctx.app("DIRECT_URL")
    if direct:
        return direct, "DIRECT_URL"
    pasted = ctx.app("DATABASE_URL")
    if pasted and ctx.values.pending.get("DIRECT_URL") == "database":
        # A dry run: the database step will provide DIRECT_URL by the very same rule.
        derived = for_prisma(pasted).direct_url
        if derived:
            return derived, "DIRECT_URL"
    url = ctx.require("DATABASE_URL", PG_SERVICE)
    if is_pooled(url):
        raise ProviderError(
            SERVICE,
            "DATABASE_URL goes through a transaction pooler, which cannot run migrations",
            key="DIRECT_URL",
            hint="set DIRECT_URL to the direct connection (Supabase: the session pooler, port "
            "5432 on the same pooler host; Neon: the host without -pooler)",
        )
    return url, "DATABASE_URL"


async def _read_table(ctx: StepContext, url: str, key: str) -> list[Applied] | None:
    """The migrations table, read over a connection proven like the database check's."""
    schema = query_params(url).get("schema") or "public"  # Prisma's own parameter

    async def read(conn: Any) -> list[Applied] | None:
        return await read_applied(conn, schema)

    allow = ctx.choice(ALLOW_PASSWORD_CHOICE) == "yes"
    result: list[Applied] | None = await run_read(url, read, key=key, allow_password_auth=allow)
    return result


def _blocked(plan: MigrationPlan, key: str) -> ProviderError:
    name = plan.failed[0]
    others = f" (and {len(plan.failed) - 1} more)" if len(plan.failed) > 1 else ""
    return ProviderError(
        SERVICE,
        f"migration {name}{others} is recorded as failed in the database; Prisma Migrate "
        "applies nothing until it is resolved",
        key=key,
        hint="undo what it did (or restore a backup), then run "
        f"`npx prisma migrate resolve --rolled-back {name}` and run again",
    )


async def _plan(ctx: StepContext) -> tuple[PrismaProject | None, MigrationPlan | None]:
    project = read_project(ctx.project_dir)
    if project is None:
        return None, None
    url, key = migration_url(ctx)
    applied = await _read_table(ctx, url, key)
    plan = compare(project.migrations, applied or [])
    ctx.scratch[URL] = (url, key)
    if plan.failed:
        raise _blocked(plan, key)
    return project, plan


def _after_database(ctx: StepContext) -> bool:
    """The URL migrations run over is not there yet, and the database step of this run
    provides it (DIRECT_URL derived from a pooled DATABASE_URL, or DATABASE_URL built from
    the Supabase project): the migrations are read in run(), after that step's."""
    if "database" not in ctx.run_steps or read_project(ctx.project_dir) is None:
        return False  # nothing to wait for, or nothing to read
    try:
        migration_url(ctx)
    except ProviderError:
        return True
    return False


async def check(ctx: StepContext) -> None:
    if _after_database(ctx):
        return
    ctx.scratch[PROJECT], ctx.scratch[PLAN] = await _plan(ctx)


def _child_env(ctx: StepContext, url: str) -> dict[str, str]:
    """The environment Prisma runs in: the direct URL for both of its variables (so a schema
    without ``directUrl`` still migrates over it), and none of our operator credentials."""
    operator_secrets = {
        name
        for f in ctx.catalogue.all_fields()
        if f.kind == "operator" and f.secret
        for name in (f.env_names or (f.key,))
    }
    env = {k: v for k, v in ctx.env.items() if k not in operator_secrets}
    env.update(DATABASE_URL=url, DIRECT_URL=url)
    env.setdefault("CI", "1")  # no interactive prompts from Prisma
    env["NO_COLOR"] = "1"
    return env


async def _prisma(ctx: StepContext, url: str, *args: str) -> list[str]:
    def redact(line: str) -> str:
        return ctx.redact(scrub(line, url))

    def on_line(line: str) -> None:
        ctx.output(line)

    status, tail = await run_prisma(
        args,
        project_dir=ctx.project_dir,
        env=_child_env(ctx, url),
        on_line=on_line,
        redact=redact,
    )
    if status != 0:
        last = next((line.strip() for line in reversed(tail) if line.strip()), "")
        raise ProviderError(
            SERVICE,
            f"prisma {' '.join(args)} failed (exit {status}): {last[:200]}",
            hint="read its output above; a migration that failed half-way is recorded as failed "
            "and must be resolved (npx prisma migrate resolve --rolled-back <name>)",
        )
    return tail


async def run(ctx: StepContext) -> None:
    if PROJECT not in ctx.scratch:
        if ctx.dry_run and _after_database(ctx):
            ctx.notice(
                "Migrations: listed once the database step has built DATABASE_URL (apply); "
                "a dry run cannot read them before."
            )
            return
        ctx.scratch[PROJECT], ctx.scratch[PLAN] = await _plan(ctx)
    project: PrismaProject | None = ctx.scratch[PROJECT]
    plan: MigrationPlan | None = ctx.scratch[PLAN]
    if project is None or plan is None:
        ctx.notice("Migrations: the project has no Prisma migrations (prisma/migrations).")
        return
    where = project.migrations_dir.as_posix()
    for migration in plan.pending:
        ctx.change(TARGET, f"migration:{migration.name}", "apply", f"pending in {where}", kind=KIND)
    if not plan.pending:
        ctx.change(
            TARGET, "migrations", "unchanged", f"all {len(project.migrations)} applied", kind=KIND
        )
    for name in plan.modified:
        ctx.notice(
            f"Migrations: {name} was edited after it was applied; Prisma does not apply it "
            "again. Put the change in a new migration (npx prisma migrate dev)."
        )
    for name in plan.unknown:
        ctx.notice(
            f"Migrations: {name} is applied in the database but missing from {where} "
            "(another branch?); prisma migrate deploy leaves it alone."
        )
    seed = ctx.choice(SEED_CHOICE) == "yes"
    if seed and project.seed is None:
        ctx.notice(
            "Migrations: db_seed=yes, but the project declares no seed (package.json "
            '"prisma": {"seed": …} or prisma.config.ts): nothing to seed.'
        )
    elif seed:
        ctx.change(TARGET, "seed", "apply", f"npx prisma db seed ({project.seed})", kind=KIND)
    if ctx.dry_run:
        return
    url, key = ctx.scratch[URL]
    if plan.pending:
        ctx.progress(0, len(plan.pending), "prisma migrate deploy")
        await _prisma(ctx, url, "migrate", "deploy")
        rows = await _read_table(ctx, url, key)
        after = compare(project.migrations, rows or [])
        if after.failed:
            raise _blocked(after, key)
        if after.pending:
            raise ProviderError(
                SERVICE,
                f"prisma migrate deploy ended without applying {after.pending[0].name}",
                key=key,
                hint="read its output above, then run again",
            )
        ctx.progress(len(plan.pending), len(plan.pending), "migrations applied")
    if seed and project.seed is not None:
        await _prisma(ctx, url, "db", "seed")
