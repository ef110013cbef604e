"""A step's guide lines, console link and field help for the provider chosen: Neon's
pages for a Neon database, Cloudflare's R2 pages for R2 storage. The catalogue's own text
(Supabase, AWS S3) stays the default. No UI: any front end may show these."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from wizard.catalogue import Step

R2_TOKENS = "https://dash.cloudflare.com/?to=/:account/r2/api-tokens"
R2_OVERVIEW = "https://dash.cloudflare.com/?to=/:account/r2/overview"
NEON_CONSOLE = "https://console.neon.tech/app/projects"


@dataclass(frozen=True)
class PageGuide:
    guide: tuple[str, ...]
    console_url: str | None
    field_help: dict[str, str] = field(default_factory=dict)


NEON = PageGuide(
    guide=(
        "Create a Neon project at https://console.neon.tech (pick the region nearest your "
        "Vercel functions)",
        "Dashboard → Connect: choose the pooled connection and copy its connection string",
        "Neon keeps point-in-time history: set the restore window in the project's settings",
        "SSL is required (?sslmode=require, already in Neon's string)",
    ),
    console_url=NEON_CONSOLE,
    field_help={
        "DATABASE_URL": "Neon's pooled connection string: postgresql://USER:PASSWORD@"
        "ep-NAME-pooler.REGION.aws.neon.tech/neondb?sslmode=require (the host has -pooler).",
    },
)

R2 = PageGuide(
    guide=(
        "Create the bucket dream-pixel-images in the Cloudflare dashboard → R2 (or let this "
        "step create it)",
        f"Create an R2 API token at {R2_TOKENS}: Object Read & Write, limited to the bucket",
        "Paste the token's Access Key ID into AWS_ACCESS_KEY_ID and its Secret Access Key into "
        "AWS_SECRET_ACCESS_KEY: this step cannot make R2 keys, it checks the ones you paste",
        "R2 has no versioning; the region is auto and the endpoint follows from the account id",
    ),
    console_url=R2_OVERVIEW,
    field_help={
        "AWS_REGION": "R2 uses auto.",
        "AWS_ACCESS_KEY_ID": f"The R2 API token's Access Key ID (create one at {R2_TOKENS}).",
        "AWS_SECRET_ACCESS_KEY": "The R2 API token's Secret Access Key (shown once, when the "
        "token is created).",
        "storage_mode": "R2 keys cannot be created through the S3 API: use existing, with the "
        "keys of an R2 API token.",
    },
)


def page_guide(step: Step, choice: Callable[[str], str | None]) -> PageGuide:
    """What the page of ``step`` shows for the choices made so far."""
    if step.id == "database" and choice("database_provider") == "neon":
        return NEON
    if step.id == "storage" and choice("storage") == "r2":
        return R2
    return PageGuide(guide=step.guide, console_url=step.console_url)
