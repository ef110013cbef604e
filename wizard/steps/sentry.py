"""Step "sentry": token, organization and project checked; the DSN read from the project.

SENTRY_DSN and NEXT_PUBLIC_SENTRY_DSN are filled from an active client key of the project
when empty, and checked against the project's active keys when given: a DSN from another
project (or a disabled key) would make every error report vanish silently.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from providers.errors import Conflict
from providers.sentry import (
    DEFAULT_URL,
    ORG_KEY,
    PROJECT_KEY,
    SERVICE,
    TOKEN_KEY,
    ClientKey,
    SentryClient,
)
from wizard.context import StepContext

DSN_KEYS = ("SENTRY_DSN", "NEXT_PUBLIC_SENTRY_DSN")
CHECKED = "sentry.checked"
KEYS = "sentry.keys"


def dsn_identity(dsn: str) -> tuple[str, str, str]:
    """(public key, host, project id): what makes two DSNs the same, whatever their form
    (with or without the legacy secret part, a trailing slash, a port)."""
    parts = urlsplit(dsn.strip())
    project_id = parts.path.strip("/").split("/")[-1] if parts.path else ""
    return (parts.username or "", (parts.hostname or "").lower(), project_id)


async def check(ctx: StepContext) -> None:
    token = ctx.require(
        TOKEN_KEY, SERVICE, "create one at Settings → Auth Tokens (org:read, project:read)"
    )
    org = ctx.require(
        ORG_KEY, SERVICE, "the organization slug, from sentry.io/organizations/<slug>/"
    )
    project = ctx.require(PROJECT_KEY, SERVICE, "the project slug, e.g. dream-pixel")
    base = ctx.base_url("SENTRY_URL", DEFAULT_URL, SERVICE)
    async with SentryClient(token, base_url=base) as client:
        await client.list_organizations()
        await client.get_organization(org)
        found = await client.get_project(org, project)
        keys = await client.list_keys(org, project)
    ctx.scratch[KEYS] = keys
    ctx.scratch["sentry.project_id"] = found.id
    ctx.scratch[CHECKED] = True


async def run(ctx: StepContext) -> None:
    if CHECKED not in ctx.scratch:
        await check(ctx)
    keys: list[ClientKey] = ctx.scratch[KEYS]
    org, project = ctx.app(ORG_KEY), ctx.app(PROJECT_KEY)
    active = [k for k in keys if k.active and k.dsn_public]
    by_identity = {dsn_identity(k.dsn_public): k for k in active}
    inactive = {dsn_identity(k.dsn_public) for k in keys if not k.active and k.dsn_public}

    chosen: ClientKey | None = None
    for key in DSN_KEYS:
        given = ctx.app(key)
        if not given:
            continue
        ident = dsn_identity(given)
        match = by_identity.get(ident)
        if match is None:
            why = (
                "belongs to a disabled client key"
                if ident in inactive
                else "is not the DSN of any active client key"
            )
            raise Conflict(
                SERVICE,
                f"{key} {why} of project {org}/{project}",
                key=key,
                hint="leave it empty to fill it from the project, or copy the DSN from Project "
                "Settings → Client Keys (and check SENTRY_ORG / SENTRY_PROJECT)",
            )
        chosen = chosen or match

    if chosen is None:
        if not active:
            raise Conflict(
                SERVICE,
                f"project {org}/{project} has no active client key",
                key="SENTRY_DSN",
                hint="enable or create one in Project Settings → Client Keys",
            )
        chosen = active[0]

    missing = [key for key in DSN_KEYS if not ctx.app(key)]
    detail = "active"
    if missing:
        detail += "; its DSN fills " + " and ".join(missing)
    ctx.resource(f"Sentry client key '{chosen.name}' of {org}/{project}", "unchanged", detail)
    for key in missing:
        if ctx.dry_run:
            ctx.pending(key)
        else:
            ctx.provide(key, chosen.dsn_public)
    if not ctx.dry_run:
        ctx.memory.update({"key_id": chosen.id, "project_id": ctx.scratch.get("sentry.project_id")})
