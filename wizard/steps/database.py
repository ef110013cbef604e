"""Step "database": the PostgreSQL connection strings, proven by connecting over SSL.

DATABASE_URL (and DIRECT_URL) are checked by connecting (``SELECT 1``, ``SHOW
server_version``) without ever sending the password to a server that is not proven: see
providers.postgres. When DATABASE_URL is missing and a Supabase personal access token is
given, the URL is built from the project's transaction pooler (``supabase_project`` choice +
``database_password`` operator value): Supabase's direct host is IPv6-only, the pooler is
what Vercel can reach.

A transaction-pooler DATABASE_URL (built or pasted) gets what the vendor documents for
Prisma, and DIRECT_URL the connection migrations need (providers.database_urls). When the
app's Prisma configuration would run migrations through the pooler, a notice gives the line
to add.

The TUI uses ``list_projects`` and ``pooler_url`` (re-exported from providers.supabase)
to offer the project list and ask only for the password.
"""

from __future__ import annotations

import asyncio

from providers.database_urls import PrismaUrls, for_prisma, is_pooled, supabase_ref
from providers.errors import NotFound, ProviderError
from providers.postgres import (
    ALLOW_PASSWORD_CHOICE,
    URL_KEY,
    ServerInfo,
    check_connection,
)
from providers.postgres import SERVICE as PG_SERVICE
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
from wizard.context import StepContext, raise_first
from wizard.prisma_config import migration_source

__all__ = ["check", "list_projects", "pooler_url", "run", "supabase_projects"]

DIRECT_KEY = "DIRECT_URL"
PASSWORD_KEY = "database_password"
PROJECT_KEY = "supabase_project"
CHECKED = "database.checked"
SERVER = "database.server"
DIRECT_SERVER = "database.direct_server"
BUILT = "database.built"  # (url, project ref) when the URL came from the Supabase API
URLS = "database.urls"  # PrismaUrls: the URLs as written, and DIRECT_URL's


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


def _direct_url(ctx: StepContext, urls: PrismaUrls) -> str | None:
    """DIRECT_URL: the one given (unless it is itself pooled), else the derived one."""
    given = ctx.app(DIRECT_KEY)
    if given and not (urls.direct_url and is_pooled(given)):
        return given
    return urls.direct_url


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
    urls = for_prisma(url)
    direct = _direct_url(ctx, urls)
    ctx.scratch[URLS] = PrismaUrls(urls.database_url, direct, urls.added, urls.pooler)
    allow = ctx.choice(ALLOW_PASSWORD_CHOICE) == "yes"
    checks = [check_connection(urls.database_url, key=key, allow_password_auth=allow)]
    if direct:
        # A DIRECT_URL derived from a built URL holds only what the user typed: the password.
        derived = key == PASSWORD_KEY and direct == urls.direct_url
        direct_key = PASSWORD_KEY if derived else DIRECT_KEY
        checks.append(check_connection(direct, key=direct_key, allow_password_auth=allow))
    results = await asyncio.gather(*checks, return_exceptions=True)
    raise_first(results)
    ctx.scratch[SERVER] = results[0]
    ctx.scratch[DIRECT_SERVER] = results[1] if direct else None
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


def _prisma_notice(ctx: StepContext, urls: PrismaUrls) -> None:
    """The line to add when the app's Prisma setup would migrate through the pooler."""
    if not is_pooled(urls.database_url):
        return
    source = migration_source(ctx.project_dir)
    if source is None:
        return
    unset = (
        ""
        if urls.direct_url
        else f"; set {DIRECT_KEY} too (--set {DIRECT_KEY}=…, a direct, non-pooled connection)"
    )
    if source.variable in (None, URL_KEY):
        ctx.notice(
            f"Prisma: {source.file} runs migrations through the pooled {URL_KEY} (they fail "
            f"there): add {source.line} to its datasource, so they use {DIRECT_KEY}{unset}."
        )
    elif source.variable == DIRECT_KEY and unset:
        ctx.notice(f"Prisma: {source.file} runs migrations with {DIRECT_KEY}{unset}.")


def _produce(ctx: StepContext, key: str, value: str, action: str, detail: str) -> None:
    ctx.resource(key, action, detail)
    if ctx.dry_run:
        ctx.pending(key)
    else:
        ctx.provide(key, value)


async def run(ctx: StepContext) -> None:
    if CHECKED not in ctx.scratch:
        await check(ctx)
    info: ServerInfo = ctx.scratch[SERVER]
    urls: PrismaUrls = ctx.scratch[URLS]
    built: tuple[str, str] | None = ctx.scratch.get(BUILT)
    for_prisma_detail = {
        "supabase-transaction": "Supabase transaction pooler, for Prisma: "
        "pgbouncer=true, connection_limit=1 (serverless)",
        "neon-pooled": "Neon pooled host, for Prisma: sslmode=require, connect_timeout=15",
    }.get(urls.pooler or "", "")
    if built:
        _url, ref = built
        _produce(
            ctx,
            URL_KEY,
            urls.database_url,
            "create",
            f"Supabase project {ref}, " + (for_prisma_detail or "transaction pooler"),
        )
        ctx.memory["supabase_project"] = ref
    elif urls.database_url != ctx.app(URL_KEY):
        added = ", ".join(urls.added)
        _produce(ctx, URL_KEY, urls.database_url, "update", f"adds {added}: {for_prisma_detail}")
    if urls.direct_url and urls.direct_url != ctx.app(DIRECT_KEY):
        what = (
            "the same Supabase host on :5432 (session pooler, or the database)"
            if urls.pooler == "supabase-transaction"
            else "the host without -pooler"
        )
        action = "update" if ctx.app(DIRECT_KEY) else "create"
        _produce(ctx, DIRECT_KEY, urls.direct_url, action, f"{what}, for Prisma Migrate")
    ctx.resource("database connection", "check", info.describe())
    ctx.notice(f"Database: {info.describe()}.")
    direct_info: ServerInfo | None = ctx.scratch.get(DIRECT_SERVER)
    if direct_info:
        ctx.notice(f"Database ({DIRECT_KEY}, migrations): {direct_info.describe()}.")
    if ctx.choice(ALLOW_PASSWORD_CHOICE) == "yes":
        ctx.notice(
            f"Database: {ALLOW_PASSWORD_CHOICE}=yes: the password may travel to the server "
            "itself (not only a SCRAM proof)."
        )
    _advice(ctx, info)
    _prisma_notice(ctx, urls)
    if ctx.choice("database_provider") != "neon":
        ctx.notice(
            "Backups: retention (the guide's 30 days) and point-in-time recovery are set in the "
            "Supabase dashboard (Database → Backups); the API cannot change them."
        )
    ctx.memory["host"] = info.host
    ctx.memory["server_version"] = info.version
