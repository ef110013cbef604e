"""Step "domain" (guide, Deployment Step 6): the production host on Vercel, and its DNS.

The host of NEXTAUTH_URL is added to the Vercel project (read first), plus ``www.`` redirecting
to it when it is an apex. The records come from Vercel: ``GET /v6/domains/{domain}/config``
(``recommendedIPv4`` for an apex, ``recommendedCNAME`` otherwise) and the project domain's
TXT ``verification`` challenges; nothing is hard-coded.

When the zone is on Cloudflare (the token can see it), the records are created or edited
there, read first, proxied as the guide puts Cloudflare in front; records of other names are
never touched, and a record of the same name with other content is a conflict shown with its
content, replaced only with ``--set dns_replace=yes`` (that run only). Without Cloudflare
the exact records to add at the registrar are printed, and the step is done only when
Vercel reports the domain configured and verified: until then it is "waiting for DNS".
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import cast
from urllib.parse import urlsplit

from providers.cloudflare import Zone
from providers.cloudflare_dns import PROXIABLE, DnsClient, Record
from providers.errors import ProviderError
from providers.urls import is_loopback_host
from providers.vercel import SERVICE
from providers.vercel_domains import DomainConfig, DomainsClient, ProjectDomain
from wizard.context import StepContext, raise_first
from wizard.steps.vercel import _settings, scoped_client

SCRATCH = "domain.remote"
REPLACE_CHOICE = "dns_replace"
CF_SERVICE = "Cloudflare"


@dataclass(frozen=True)
class Wanted:
    type: str
    name: str
    content: str

    @property
    def label(self) -> str:
        return f"{self.type} {self.name}"


@dataclass
class Remote:
    project: str
    domains: list[tuple[str, str | None]]  # (domain, redirect target)
    on_project: dict[str, ProjectDomain | None]
    configs: dict[str, DomainConfig]
    zone: Zone | None = None
    records: dict[str, list[Record]] = field(default_factory=dict)


def production_host(ctx: StepContext) -> str | None:
    url = ctx.app("NEXTAUTH_URL")
    host = (urlsplit(url).hostname or "").lower() if url else ""
    if not host or is_loopback_host(host) or host.replace(".", "").isdigit():
        return None
    return host


def _domains(host: str, zone: Zone | None) -> list[tuple[str, str | None]]:
    """The host, and www. redirecting to it when the host is the apex of its zone."""
    apex = host == zone.name.lower() if zone else host.count(".") == 1
    if apex and not host.startswith("www."):
        return [(host, None), (f"www.{host}", host)]
    return [(host, None)]


def _vercel(ctx: StepContext) -> DomainsClient:
    token, _, team = _settings(ctx)
    return scoped_client(ctx, DomainsClient, token, team)


async def _cloudflare_zone(ctx: StepContext, host: str) -> tuple[DnsClient, Zone] | None:
    """The Cloudflare zone serving ``host``, when a token is given and it sees one."""
    token = ctx.operator("CLOUDFLARE_API_TOKEN")
    if not token:
        return None
    from wizard.steps.cloudflare import _base_url, zone_candidates

    client = DnsClient(token, base_url=_base_url(ctx))
    wanted = ctx.operator("CLOUDFLARE_ZONE")
    try:
        for name in [wanted.lower()] if wanted else zone_candidates(host):
            zone = await client.find_zone(name)
            if zone is not None and (host == zone.name or host.endswith("." + zone.name)):
                return client, zone
    except BaseException:
        await client.aclose()
        raise
    await client.aclose()
    return None


async def check(ctx: StepContext) -> None:
    host = production_host(ctx) if ctx.environment == "production" else None
    if host is None:
        ctx.scratch[SCRATCH] = None
        return
    _, project, _ = _settings(ctx)
    found = await _cloudflare_zone(ctx, host)
    zone = found[1] if found else None
    domains = _domains(host, zone)
    try:
        async with _vercel(ctx) as vercel:
            info = await vercel.project(project)
            project_id = str(info.get("id") or project)
            got = await asyncio.gather(
                *(vercel.project_domain(project_id, d) for d, _ in domains),
                *(vercel.config(d) for d, _ in domains),
                return_exceptions=True,
            )
        raise_first(got)
    except BaseException:
        if found is not None:  # the Cloudflare client is closed below on success
            await found[0].aclose()
        raise
    n = len(domains)
    remote = Remote(
        project=project_id,
        domains=domains,
        on_project={d: cast(ProjectDomain | None, got[i]) for i, (d, _) in enumerate(domains)},
        configs={d: cast(DomainConfig, got[n + i]) for i, (d, _) in enumerate(domains)},
        zone=zone,
    )
    if found is not None:
        client, zone = found
        async with client:
            names = {w.name for w in _wanted(remote)}
            listed = await asyncio.gather(*(client.records(zone.id, nm) for nm in sorted(names)))
        remote.records = dict(zip(sorted(names), listed, strict=True))
    ctx.scratch[SCRATCH] = remote


def _wanted(remote: Remote) -> list[Wanted]:
    out: list[Wanted] = []
    for domain, _ in remote.domains:
        config = remote.configs[domain]
        apex = remote.zone.name.lower() == domain if remote.zone else domain.count(".") == 1
        if apex and config.ipv4:
            out.append(Wanted("A", domain, config.ipv4[0]))
        elif config.cname:
            out.append(Wanted("CNAME", domain, config.cname))
        existing = remote.on_project.get(domain)
        if existing is not None and not existing.verified:
            out += [Wanted(c.type, c.domain.lower(), c.value) for c in existing.challenges]
    return out


@dataclass
class DnsPlan:
    create: list[Wanted] = field(default_factory=list)
    edit: list[tuple[Record, Wanted]] = field(default_factory=list)
    delete: list[Record] = field(default_factory=list)
    conflicts: list[tuple[Record, Wanted]] = field(default_factory=list)
    unchanged: list[Wanted] = field(default_factory=list)


def plan_records(wanted: list[Wanted], records: dict[str, list[Record]], replace: bool) -> DnsPlan:
    plan = DnsPlan()
    for w in wanted:
        have = records.get(w.name, [])
        if w.type == "TXT":
            # Several TXT records may share a name: ours is added beside the others.
            if any(r.type == "TXT" and r.content.strip('"') == w.content for r in have):
                plan.unchanged.append(w)
            else:
                plan.create.append(w)
            continue
        exact = [r for r in have if r.type == w.type and r.content == w.content]
        clashing = [r for r in have if r.type in PROXIABLE and r not in exact]
        if clashing and not replace:
            plan.conflicts += [(r, w) for r in clashing]
            continue
        if exact:
            if not exact[0].proxied:
                plan.edit.append((exact[0], w))
            else:
                plan.unchanged.append(w)
            plan.delete += clashing
            continue
        same_type = [r for r in clashing if r.type == w.type]
        if same_type:
            plan.edit.append((same_type[0], w))
            plan.delete += [r for r in clashing if r is not same_type[0]]
        else:
            plan.delete += clashing
            plan.create.append(w)
    return plan


def _registrar_lines(wanted: list[Wanted]) -> str:
    return "; ".join(f"{w.type} {w.name} → {w.content}" for w in wanted)


async def run(ctx: StepContext) -> None:
    if SCRATCH not in ctx.scratch:
        await check(ctx)
    remote = cast(Remote | None, ctx.scratch[SCRATCH])
    if remote is None:
        ctx.notice(
            "Domain: no production domain to configure (NEXTAUTH_URL is not a public host, or "
            "the environment is not production)."
        )
        url = ctx.app("NEXTAUTH_URL")
        local = bool(url) and is_loopback_host(urlsplit(url or "").hostname or "")
        if local and ctx.environment == "production":
            ctx.notice(
                f"NEXTAUTH_URL is on this machine ({url}): the checks at the end reach it, "
                "not the Vercel deployment. Production needs its public https:// URL there "
                "before it goes live (auth callbacks and the Stripe webhook use it)."
            )
        if not ctx.dry_run and url:
            # A site on this machine has no DNS to wait for: once deployed, it is checked
            # at the end like a live domain. A public IP address is not known to be served.
            ctx.memory["live"] = local
        return
    missing = [(d, r) for d, r in remote.domains if remote.on_project.get(d) is None]
    for domain, redirect in remote.domains:
        present = remote.on_project.get(domain)
        if present is None:
            detail = f"redirects to {redirect} (308)" if redirect else "serves production"
            ctx.change("vercel", f"domain:{domain}", "create", detail, kind="resource")
        elif redirect and present.redirect != redirect:
            ctx.notice(
                f"Domain: {domain} is on the project but does not redirect to {redirect}; "
                "change it in Vercel → Project → Settings → Domains if that is not intended."
            )
    if not ctx.dry_run and missing:
        async with _vercel(ctx) as vercel:
            for domain, redirect in missing:
                remote.on_project[domain] = await vercel.add_domain(
                    remote.project, domain, redirect=redirect
                )
    wanted = _wanted(remote)
    if remote.zone is not None:
        await _cloudflare(ctx, remote, wanted)
        return
    await _registrar(ctx, remote, wanted)


async def _cloudflare(ctx: StepContext, remote: Remote, wanted: list[Wanted]) -> None:
    assert remote.zone is not None
    replace = ctx.choice(REPLACE_CHOICE) == "yes"
    plan = plan_records(wanted, remote.records, replace)
    if plan.conflicts:
        shown = "; ".join(
            f"{r.type} {r.name} → {r.content} (Vercel wants {w.type} → {w.content})"
            for r, w in plan.conflicts
        )
        raise ProviderError(
            CF_SERVICE,
            f"records in zone {remote.zone.name} conflict with what Vercel needs: {shown}",
            key="dns_replace",
            hint="remove or change them in Cloudflare, or pass --set dns_replace=yes to replace "
            "them (this run only)",
        )
    for w in plan.unchanged:
        ctx.change("cloudflare", f"dns:{w.label}", "unchanged", w.content, kind="resource")
    for r, w in plan.edit:
        ctx.change(
            "cloudflare", f"dns:{w.label}", "update", f"{r.content} → {w.content}", kind="resource"
        )
    for r in plan.delete:
        ctx.change("cloudflare", f"dns:{r.type} {r.name}", "remove", r.content, kind="resource")
    for w in plan.create:
        detail = w.content + (", proxied" if w.type in PROXIABLE else "")
        ctx.change("cloudflare", f"dns:{w.label}", "create", detail, kind="resource")
    if ctx.dry_run:
        return
    token = ctx.operator("CLOUDFLARE_API_TOKEN")
    assert token
    from wizard.steps.cloudflare import _base_url

    async with DnsClient(token, base_url=_base_url(ctx)) as client:
        zone_id = remote.zone.id
        for r in plan.delete:
            await client.delete(zone_id, r.id)
        for r, w in plan.edit:
            await client.edit(zone_id, r.id, w.type, w.name, w.content, True)
        for w in plan.create:
            await client.create(zone_id, w.type, w.name, w.content, w.type in PROXIABLE)
    await _verify_all(ctx, remote, final=False)


async def _registrar(ctx: StepContext, remote: Remote, wanted: list[Wanted]) -> None:
    if wanted:
        ctx.notice(
            "Domain: add these records at your DNS provider: " + _registrar_lines(wanted) + "."
        )
    if ctx.dry_run:
        for domain, _ in remote.domains:
            ctx.change(
                "vercel", f"dns:{domain}", "check", "configured and verified?", kind="resource"
            )
        return
    await _verify_all(ctx, remote, final=True)


async def _verify_all(ctx: StepContext, remote: Remote, *, final: bool) -> None:
    """Ask Vercel whether each domain is verified and configured. Without Cloudflare that is
    the step's end condition; with it, a lag is propagation and only noted."""
    waiting: list[str] = []
    async with _vercel(ctx) as vercel:
        for domain, _ in remote.domains:
            current = remote.on_project.get(domain)
            if current is not None and not current.verified:
                current = await vercel.verify(remote.project, domain)
            config = await vercel.config(domain)
            if current is None or not current.verified:
                waiting.append(f"{domain} (not verified)")
            elif config.misconfigured:
                waiting.append(f"{domain} (DNS not pointing at Vercel yet)")
    if not ctx.dry_run:
        ctx.memory["live"] = not waiting
    if not waiting:
        return
    if not final:
        ctx.notice(
            "Domain: Vercel does not see the new records yet for " + ", ".join(waiting) + "; DNS "
            "changes can take minutes. `dream-pixel-setup apply --only domain` checks again."
        )
        return
    raise ProviderError(
        SERVICE,
        "waiting for DNS: " + ", ".join(waiting),
        key="NEXTAUTH_URL",
        hint="add the records shown above at your DNS provider, then run "
        "`dream-pixel-setup apply --only domain` (or resume the wizard) to check again",
    )
