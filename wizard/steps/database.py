"""Step "database": the PostgreSQL connection string, proven by connecting over SSL.

DATABASE_URL is checked by connecting (``SELECT 1``, ``SHOW server_version``): sslmode
comes from the URL, and anything but loopback must use SSL. When DATABASE_URL is missing
and a Supabase personal access token is given, the URL is built from the project's
transaction pooler (``supabase_project`` choice + ``database_password`` operator value):
Supabase's direct host is IPv6-only, the pooler is what Vercel can reach.

The TUI uses ``list_projects`` and ``pooler_url`` (re-exported from providers.supabase)
to offer the project list and ask only for the password.
"""

from __future__ import annotations

import asyncio

from providers.errors import NotFound, ProviderError
from providers.postgres import SERVICE as PG_SERVICE
from providers.postgres import URL_KEY, ServerInfo, check_connection, supabase_ref
from providers.supabase import (
    DEFAULT_URL,
    SERVICE,
    TOKEN_KEY,
    URL_VARIABLE,
    SupabaseClient,
    SupabaseProject,
    list_projects,
    pooler_url,
)
from wizard.context import StepContext

__all__ = ["check", "list_projects", "pooler_url", "run", "supabase_projects"]

PASSWORD_KEY = "database_password"
PROJECT_KEY = "supabase_project"
CHECKED = "database.checked"
SERVER = "database.server"
BUILT = "database.built"  # (url, project ref) when the URL came from the Supabase API


async def supabase_projects(ctx: StepContext) -> list[SupabaseProject]:
    """The projects the run's SUPABASE_ACCESS_TOKEN can see (for the TUI's picker)."""
    token = ctx.require(TOKEN_KEY, SERVICE)
    return await list_projects(token, ctx.base_url(URL_VARIABLE, DEFAULT_URL, SERVICE))


async def _url_from_supabase(ctx: StepContext, token: str) -> tuple[str, str]:
    """DATABASE_URL from the chosen project's transaction pooler and the password."""
    ref = ctx.choice(PROJECT_KEY)
    async with SupabaseClient(token, ctx.base_url(URL_VARIABLE, DEFAULT_URL, SERVICE)) as client:
        projects = await client.list_projects()
        listing = ", ".join(f"{p.ref} ({p.name})" for p in projects) or "none"
        if not ref:
            if len(projects) != 1:
                raise ProviderError(
                    SERVICE,
                    "no project chosen",
                    key=PROJECT_KEY,
                    hint=f"choose the project for {ctx.environment}: {listing}",
                )
            ref = projects[0].ref
            ctx.notice(
                f"Supabase: the token sees one project, {ref} ({projects[0].name}): using it."
            )
        elif ref not in {p.ref for p in projects}:
            raise NotFound(
                SERVICE,
                f"project {ref} is not visible to this token",
                key=PROJECT_KEY,
                hint=f"projects this token sees: {listing}",
            )
        password = ctx.operator(PASSWORD_KEY)
        if not password:
            raise ProviderError(
                SERVICE,
                "the database password is not set",
                key=PASSWORD_KEY,
                hint="enter the database password (Project Settings → Database; reset it there "
                "if it is lost)",
            )
        config = await client.pooler_config(ref)
    return pooler_url(config, password), ref


async def check(ctx: StepContext) -> None:
    url = ctx.app(URL_KEY)
    key = URL_KEY
    if not url:
        token = ctx.operator(TOKEN_KEY)
        if not token:
            raise ProviderError(
                PG_SERVICE,
                f"{URL_KEY} is not set",
                key=URL_KEY,
                hint="copy the connection string from the database console (Supabase: Connect → "
                "Transaction pooler), or set SUPABASE_ACCESS_TOKEN to have it built",
            )
        url, ref = await _url_from_supabase(ctx, token)
        ctx.scratch[BUILT] = (url, ref)
        key = PASSWORD_KEY  # the only part of a built URL the user typed
    info = await asyncio.to_thread(check_connection, url, key=key)
    ctx.scratch[SERVER] = info
    ctx.scratch[CHECKED] = True


def _advice(ctx: StepContext, info: ServerInfo) -> None:
    """Notices for URLs that work here but not well on Vercel."""
    ref = supabase_ref(info.host)
    if ref:
        ctx.notice(
            f"DATABASE_URL uses Supabase's direct host db.{ref}.supabase.co: Vercel's serverless "
            "functions should use the transaction pooler (aws-0-<region>.pooler.supabase.com:6543)."
        )
    if info.host.endswith(".neon.tech") and "-pooler" not in info.host:
        ctx.notice(
            "DATABASE_URL uses Neon's direct host: for Vercel prefer the pooled host "
            "(the one with -pooler in its name)."
        )


async def run(ctx: StepContext) -> None:
    if CHECKED not in ctx.scratch:
        await check(ctx)
    info: ServerInfo = ctx.scratch[SERVER]
    built: tuple[str, str] | None = ctx.scratch.get(BUILT)
    if built:
        url, ref = built
        detail = f"Supabase project {ref}, transaction pooler"
        ctx.resource(URL_KEY, "create", detail)
        if ctx.dry_run:
            ctx.pending(URL_KEY)
        else:
            ctx.provide(URL_KEY, url)
        ctx.memory["supabase_project"] = ref
    ctx.resource("database connection", "check", info.describe())
    ctx.notice(f"Database: {info.describe()}.")
    _advice(ctx, info)
    if ctx.choice("database_provider") != "neon":
        ctx.notice(
            "Backups: retention (the guide's 30 days) and point-in-time recovery are set in the "
            "Supabase dashboard (Database → Backups); the API cannot change them."
        )
    ctx.memory["host"] = info.host
    ctx.memory["server_version"] = info.version
