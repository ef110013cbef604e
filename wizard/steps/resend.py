"""Step "resend": the API key checked and the sending domain's verification shown.

The sending domain is RESEND_FROM (a domain, an address, or ``Name <address>``), else the
production URL's host and its parents. Nothing is created: when the domain is not
verified, the DNS records to publish are listed. A sending-only key cannot read domains:
that is reported as such, and the domain check is skipped.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from providers.resend import (
    DEFAULT_URL,
    KEY,
    SERVICE,
    DnsRecord,
    Domain,
    ResendClient,
    SendingOnlyKey,
)
from wizard.context import StepContext

FROM_KEY = "RESEND_FROM"
SITE_KEY = "NEXTAUTH_URL"
CHECKED = "resend.checked"
DOMAINS = "resend.domains"
SENDING_ONLY = "resend.sending_only"


def _client(ctx: StepContext) -> ResendClient:
    key = ctx.require(KEY, SERVICE, "create a key at resend.com/api-keys")
    return ResendClient(key, base_url=ctx.base_url("RESEND_API_URL", DEFAULT_URL, SERVICE))


def sending_domain(value: str) -> str:
    """The domain of ``noreply@x.com``, ``Name <noreply@x.com>`` or ``x.com``."""
    text = value.strip()
    if "<" in text and ">" in text:
        text = text[text.index("<") + 1 : text.index(">")]
    return text.rsplit("@", 1)[-1].strip().strip(".").lower()


def candidate_domains(ctx: StepContext) -> tuple[list[str], str | None]:
    """Domains to look for, most specific first, and the key they came from."""
    given = ctx.app(FROM_KEY)
    if given:
        return [sending_domain(given)], FROM_KEY
    site = ctx.app(SITE_KEY)
    host = (urlsplit(site).hostname or "") if site else ""
    labels = [p for p in host.lower().split(".") if p]
    return [
        ".".join(labels[i:]) for i in range(max(len(labels) - 1, 0))
    ], SITE_KEY if host else None


async def check(ctx: StepContext) -> None:
    async with _client(ctx) as client:
        try:
            ctx.scratch[DOMAINS] = await client.list_domains()
        except SendingOnlyKey:
            # A valid key that may only send: not an error, but the domains stay unseen.
            ctx.scratch[SENDING_ONLY] = True
    ctx.scratch[CHECKED] = True


async def run(ctx: StepContext) -> None:
    if CHECKED not in ctx.scratch:
        await check(ctx)
    if ctx.scratch.get(SENDING_ONLY):
        ctx.resource("sending domain", "skip", "the key is sending-only")
        ctx.notice(
            f"Resend: {KEY} is a sending-only key: it can send email but cannot read domains, so "
            "the domain check was skipped. Check that your domain shows 'verified' at "
            "https://resend.com/domains."
        )
        return
    domains: list[Domain] = ctx.scratch[DOMAINS]
    names, source = candidate_domains(ctx)
    if not names:
        ctx.resource("sending domain", "skip", "neither RESEND_FROM nor NEXTAUTH_URL is set")
        ctx.notice("Resend: set RESEND_FROM (or NEXTAUTH_URL) so the wizard can check the domain.")
        return
    by_name = {d.name: d for d in domains}
    found = next((by_name[n] for n in names if n in by_name), None)
    if found is None and source == SITE_KEY:
        # Resend advises a sending subdomain (mail.example.com): take it when it is the only one.
        subs = [d for d in domains if d.name.endswith("." + names[-1])]
        found = subs[0] if len(subs) == 1 else None
    if found is None:
        ctx.resource(f"sending domain {names[0]}", "skip", "not added to Resend")
        ctx.notice(
            f"Resend: the domain {names[0]} (from {source}) is not in your Resend account. Add it "
            "at https://resend.com/domains (a subdomain such as mail."
            f"{names[-1]} keeps its reputation apart), publish the DNS records it shows, then "
            "run this step again."
        )
        return
    if not ctx.dry_run:
        ctx.memory.update({"domain_id": found.id, "domain": found.name})
    if found.verified:
        ctx.resource(f"sending domain {found.name}", "unchanged", "verified")
        return
    ctx.resource(
        f"sending domain {found.name}", "unchanged", f"status {found.status}: not verified"
    )
    async with _client(ctx) as client:
        detail = await client.get_domain(found.id)
    todo = [r for r in detail.records if r.status != "verified"] or list(detail.records)
    lines = "\n".join(f"  {_record_line(r)}" for r in todo)
    ctx.notice(
        f"Resend: {found.name} is {found.status}, so mail from it will not be delivered yet. Add "
        f"these DNS records at your DNS provider (on Cloudflare: DNS only, not proxied), then "
        f"press Verify at https://resend.com/domains:\n{lines}"
    )


def _record_line(r: DnsRecord) -> str:
    extra = f" (priority {r.priority})" if r.priority is not None else ""
    state = f" [{r.status}]" if r.status else ""
    return f"{r.type} {r.name} {r.value}{extra}{state}"
