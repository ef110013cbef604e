"""Step "redis": the Upstash REST URL and token, proven with PING. Nothing to provision.

Replication and the eviction policy are console settings the REST API does not expose:
the step says so rather than pretending to have set them.
"""

from __future__ import annotations

from providers.upstash import SERVICE, TOKEN_KEY, URL_KEY, UpstashClient
from wizard.context import StepContext

CHECKED = "redis.checked"


async def check(ctx: StepContext) -> None:
    url = ctx.require(
        URL_KEY, SERVICE, "copy the REST URL (https://<name>.upstash.io) from the Upstash console"
    )
    token = ctx.require(
        TOKEN_KEY, SERVICE, "copy the REST token from the database's REST API section"
    )
    async with UpstashClient(url, token) as client:
        await client.ping()
    ctx.scratch[CHECKED] = True


async def run(ctx: StepContext) -> None:
    if CHECKED not in ctx.scratch:
        await check(ctx)
    ctx.resource("Upstash Redis database", "unchanged", "REST URL and token answer PING with PONG")
    ctx.notice(
        "Upstash: replication and the eviction policy are set in the Upstash console "
        "(database → Configuration); the REST API cannot change them."
    )
