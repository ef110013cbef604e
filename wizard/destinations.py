"""Where a run writes: named in the plan (human and JSON) and in the apply confirm.

Each destination says where its name came from (the environment, ``--set``, the env
file, a default, the saved progress), so a value that did not come from the operator
cannot send anything elsewhere unseen. Only public names: ids, a repository, a zone.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

if TYPE_CHECKING:
    from wizard.engine import Session

OPERATOR_SOURCES = {
    "environment": "the environment",
    "set": "--set",
    "prompt": "typed in the wizard",
    "keyring": "keyring",
    "state": "remembered from the last run, confirmed",
}
APP_SOURCES = {
    "set": "--set",
    "env-file": "--env-file",
    "generated": "generated",
    "default": "default",
    "derived": "derived",
    "provisioned": "provisioned",
    "saved": "saved progress of an unfinished walk",
}


VERCEL_STEPS = ("vercel", "deploy", "domain")
# Operator values (credentials and destinations) a step uses without declaring them as its
# own fields: they are the vercel, cloudflare and github steps' fields.
BORROWED = {
    "deploy": ("VERCEL_TOKEN", "VERCEL_PROJECT_ID", "VERCEL_ORG_ID"),
    "domain": (
        "VERCEL_TOKEN",
        "VERCEL_PROJECT_ID",
        "VERCEL_ORG_ID",
        "CLOUDFLARE_API_TOKEN",
        "CLOUDFLARE_ZONE",
    ),
    "safeguards": ("GITHUB_TOKEN", "GITHUB_REPOSITORY", "SNYK_TOKEN"),
}


@dataclass(frozen=True)
class Destination:
    step: str
    what: str  # "GitHub repository"
    name: str  # "dream-pixel/app"
    source: str  # where the name came from

    def to_json(self) -> dict[str, Any]:
        return {"step": self.step, "destination": self.what, "name": self.name, "from": self.source}


def collect_destinations(session: Session, selected: list[str]) -> list[Destination]:
    s, out = session, []
    env_file = f".env.{s.environment}"

    def op(key: str) -> tuple[str | None, str]:
        from wizard.discover import describe_source

        value = s.values.operator.get(key)
        source = s.values.operator_source.get(key, "")
        # Found on this machine (git remote, gh, .vercel/project.json): said as such.
        found = describe_source(source).removeprefix("from ")
        return value, OPERATOR_SOURCES.get(source) or found or "given"

    def app(key: str) -> tuple[str | None, str]:
        value = s.values.app.get(key)
        source = s.values.app_source.get(key, "")
        return value, env_file if source == "existing" else APP_SOURCES.get(source, "given")

    def add(step: str, what: str, name: str | None, source: str) -> None:
        if name is None:
            name, source = "(not given)", "missing"
        out.append(Destination(step, what, _printable(name), source))

    if "storage" in selected:
        bucket, source = app("S3_BUCKET")
        if not bucket:
            f = s.catalogue.field("S3_BUCKET")
            bucket, source = (f.default if f else None), "default"
        if s.choice("storage") == "r2":
            add("storage", "R2 bucket", bucket, source)
            endpoint, where = app("S3_ENDPOINT")
            add("storage", "R2 endpoint", endpoint, where)
        else:
            region, _ = app("AWS_REGION")
            where = region or "us-east-1"
            endpoint = s.env.get("AWS_ENDPOINT_URL_S3") or s.env.get("AWS_ENDPOINT_URL")
            if endpoint:
                where += f", at {endpoint}"
            add("storage", "S3 bucket", f"{bucket} ({where})", source)
    # The domain step writes DNS records in the same zone the cloudflare step configures.
    zone_step = next((x for x in ("cloudflare", "domain") if x in selected), None)
    if zone_step:
        zone, source = op("CLOUDFLARE_ZONE")
        if zone:
            add(zone_step, "Cloudflare zone", zone, source)
        else:
            site, _ = app("NEXTAUTH_URL")
            host = urlsplit(site).hostname if site else None
            add(zone_step, "Cloudflare zone", host and f"the zone of {host}", "NEXTAUTH_URL")
    if "stripe" in selected:
        site, source = app("NEXTAUTH_URL")
        hook = site.rstrip("/") + "/api/webhooks/stripe" if site else None
        add("stripe", "Stripe webhook endpoint", hook, "NEXTAUTH_URL, " + source)
    if "env-file" in selected:
        add("env-file", "env file", str(s.project_dir / env_file), "--project-dir, --environment")
    # deploy and domain act on the same Vercel project as the push.
    vercel_step = next((x for x in VERCEL_STEPS if x in selected), None)
    if vercel_step:
        project, source = op("VERCEL_PROJECT_ID")
        add(vercel_step, "Vercel project", project, source)
        team, source = op("VERCEL_ORG_ID")
        if team:
            add(vercel_step, "Vercel team", team, source)
        else:
            add(vercel_step, "Vercel team", "personal account (no VERCEL_ORG_ID)", "default")
        add(vercel_step, "Vercel target", s.environment, "--environment")
    if "github" in selected:
        repo, source = op("GITHUB_REPOSITORY")
        add("github", "GitHub repository", repo, source)
        environment = s.values.choices.get("github_environment")
        if environment:
            add("github", "GitHub Actions environment", environment, "--github-environment")
        else:
            add("github", "GitHub Actions environment", "none (repository secrets)", "default")
    return out


def _printable(text: str) -> str:
    """Names were validated before a plan runs; this is only a last guard for a terminal."""
    text = text if len(text) <= 200 else text[:200] + "…"
    return text if text.isprintable() else text.encode("unicode_escape").decode("ascii")


def render_destinations(destinations: list[Destination]) -> str:
    if not destinations:
        return ""
    width = max(len(d.what) for d in destinations)
    lines = ["Destinations:"]
    lines += [f"  {d.what:<{width}}  {d.name}  (from {d.source})" for d in destinations]
    return "\n".join(lines)
