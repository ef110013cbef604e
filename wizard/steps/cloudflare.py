"""Step "cloudflare": zone settings, a static-asset cache rule and a WAF rule that works.

What the guide asks and what the wizard does instead, where the two differ:

- "Cache level: Cache Everything" is a Cache Rule now, not a zone setting. The wizard adds
  one rule for Next.js build assets and images that makes them eligible for the edge cache
  and respects the origin's Cache-Control. It does not cache HTML: Vercel marks each page,
  and caching every page would hand one visitor's signed-in page to the next.
- The guide's security rule ``(cf.threat_score > 50) OR (cf.bot_management.score < 30) →
  Challenge`` can never match: cf.threat_score is always 0 now and
  cf.bot_management.score needs Enterprise Bot Management. The wizard adds a rule that
  does match on every plan: block requests for paths a Next.js site never serves (PHP,
  WordPress, /.env, /.git...), which is what vulnerability scanners ask for. Bot
  challenges are Bot Fight Mode (Free) / Super Bot Fight Mode (Pro) toggles, left to the
  user because Free's Bot Fight Mode cannot be skipped for Stripe's webhook calls.

Rulesets are read, merged by our rules' ``ref`` and put back whole: PUT replaces every
rule in the phase, and the zone's own rules must survive.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from providers.cloudflare import (
    CACHE_PHASE,
    CUSTOM_WAF_PHASE,
    DEFAULT_URL,
    SERVICE,
    TOKEN_KEY,
    CloudflareClient,
    Rule,
    Zone,
    upsert_rule,
)
from providers.errors import NotFound, ProviderError
from providers.urls import is_loopback_host
from wizard.context import StepContext

ZONE_KEY = "CLOUDFLARE_ZONE"
SITE_KEY = "NEXTAUTH_URL"
CHECKED = "cloudflare.checked"
ZONE = "cloudflare.zone"

# Order matters: SSL first, since proxying Vercel without Full (strict) loops redirects.
SETTINGS: tuple[tuple[str, str], ...] = (
    ("ssl", "strict"),
    ("always_use_https", "on"),
    ("brotli", "on"),
)

IMAGE_EXTENSIONS = ("avif", "gif", "ico", "jpeg", "jpg", "png", "svg", "webp")
CACHE_RULE = Rule(
    action="set_cache_settings",
    ref="dream_pixel_static_assets",
    description="dream-pixel: cache Next.js static assets and images",
    expression=(
        '(starts_with(http.request.uri.path, "/_next/static/"))'
        ' or (starts_with(http.request.uri.path, "/_next/image"))'
        " or (http.request.uri.path.extension in {"
        + " ".join(f'"{e}"' for e in IMAGE_EXTENSIONS)
        + "})"
    ),
    action_parameters={"cache": True, "edge_ttl": {"mode": "respect_origin"}},
)

# Plain `contains` on the path: available on every plan (no regex, which needs Business).
PROBE_PATHS = (".php", "/wp-admin", "/wp-content", "/wp-includes", "/.env", "/.git", "/cgi-bin/")
WAF_RULE = Rule(
    action="block",
    ref="dream_pixel_block_probes",
    description="dream-pixel: block vulnerability-scanner probes",
    expression=" or ".join(f'(http.request.uri.path contains "{p}")' for p in PROBE_PATHS),
)

GUIDE_RULE = "(cf.threat_score > 50) OR (cf.bot_management.score < 30) → Challenge"


def _base_url(ctx: StepContext) -> str:
    return ctx.base_url("CLOUDFLARE_API_URL", DEFAULT_URL, SERVICE)


def _client(ctx: StepContext) -> CloudflareClient:
    token = ctx.require(
        TOKEN_KEY,
        SERVICE,
        "create a token at My Profile → API Tokens with Zone Settings:Edit, "
        "Zone WAF:Edit and Cache Rules:Edit, then set CLOUDFLARE_API_TOKEN",
    )
    return CloudflareClient(token, base_url=_base_url(ctx))


def zone_candidates(host: str) -> list[str]:
    """The host, then each parent with at least two labels: app.example.com, example.com."""
    labels = [part for part in host.lower().strip(".").split(".") if part]
    return [".".join(labels[i:]) for i in range(max(len(labels) - 1, 0))]


async def _find_zone(ctx: StepContext, client: CloudflareClient) -> Zone:
    wanted = ctx.operator(ZONE_KEY)
    if wanted:
        zone = await client.find_zone(wanted.lower())
        if zone is None:
            raise NotFound(
                SERVICE,
                f"zone {wanted!r} not found",
                key=ZONE_KEY,
                hint="add the domain to Cloudflare, or give the token access to this zone",
            )
        return zone
    site = ctx.app(SITE_KEY)
    host = urlsplit(site).hostname if site else None
    if not host:
        raise ProviderError(
            SERVICE,
            "no zone to configure: neither CLOUDFLARE_ZONE nor NEXTAUTH_URL is set",
            key=ZONE_KEY,
            hint="set CLOUDFLARE_ZONE to the domain, e.g. dreampixel.app",
        )
    if is_loopback_host(host) or host.replace(".", "").isdigit():
        raise ProviderError(
            SERVICE,
            "NEXTAUTH_URL points at this machine, which has no Cloudflare zone",
            key=ZONE_KEY,
            hint="set CLOUDFLARE_ZONE to the production domain",
        )
    for name in zone_candidates(host):
        zone = await client.find_zone(name)
        if zone is not None:
            return zone
    raise NotFound(
        SERVICE,
        f"no zone found for {host} or its parent domains",
        key=ZONE_KEY,
        hint="add the domain to Cloudflare (and switch its nameservers), give the token access "
        "to the zone, or set CLOUDFLARE_ZONE",
    )


async def check(ctx: StepContext) -> None:
    async with _client(ctx) as client:
        await client.verify_token(ctx.operator("CLOUDFLARE_ACCOUNT_ID"))
        ctx.scratch[ZONE] = await _find_zone(ctx, client)
    ctx.scratch[CHECKED] = True


async def run(ctx: StepContext) -> None:
    if CHECKED not in ctx.scratch:
        await check(ctx)
    zone: Zone = ctx.scratch[ZONE]
    if zone.status != "active":
        servers = ", ".join(zone.name_servers) or "the ones shown in the dashboard"
        ctx.notice(
            f"Cloudflare: zone {zone.name} is {zone.status or 'not active'}: set its nameservers "
            f"at the registrar to {servers}; the settings below apply once it is active."
        )
    async with _client(ctx) as client:
        await _settings(ctx, client, zone)
        await _rule(ctx, client, zone, CACHE_PHASE, CACHE_RULE, "cache rule")
        ctx.notice(
            "Cloudflare: the guide's 'Cache level: Cache Everything' is a Cache Rule now, not a "
            "setting. The wizard's cache rule makes /_next/static/, /_next/image and image files "
            "eligible for the edge cache and respects the origin's Cache-Control; HTML is not "
            "cached (caching every page would serve one visitor's signed-in page to others)."
        )
        custom = await _rule(ctx, client, zone, CUSTOM_WAF_PHASE, WAF_RULE, "WAF custom rule")
    ctx.notice(
        f"Cloudflare: the guide's security rule `{GUIDE_RULE}` can never match: cf.threat_score "
        "is always 0 now and cf.bot_management.score needs Enterprise Bot Management (this "
        f"zone's plan: {zone.plan}). Instead the WAF custom rule '{WAF_RULE.description}' blocks "
        "requests for paths a Next.js site never serves (" + ", ".join(PROBE_PATHS) + "), "
        "which is what vulnerability scanners probe; it never touches pages, /api/ or /_next/. "
        "For bot challenges turn on Bot Fight Mode (Free) or Super Bot Fight Mode (Pro: "
        "'Definitely automated' → Managed Challenge) in Security → Bots, and check that Stripe "
        "webhooks still arrive afterwards."
    )
    for rule in custom:
        if rule.ref == WAF_RULE.ref:
            continue
        dead = "cf.threat_score" in rule.expression or (
            "cf.bot_management.score" in rule.expression and zone.plan != "enterprise"
        )
        if dead:
            ctx.notice(
                f"Cloudflare: the zone's custom rule '{rule.description or rule.id}' uses "
                "cf.threat_score or cf.bot_management.score, which never match on this plan. "
                "It was left in place: delete it in Security → WAF → Custom rules."
            )
    if not ctx.dry_run:
        ctx.memory.update({"zone_id": zone.id, "zone": zone.name, "plan": zone.plan})


async def _settings(ctx: StepContext, client: CloudflareClient, zone: Zone) -> None:
    for name, wanted in SETTINGS:
        current = await client.get_setting(zone.id, name)
        label = f"{zone.name} setting {name}"
        if current.value == wanted:
            ctx.resource(label, "unchanged", f"already {wanted}")
            continue
        if not current.editable:
            ctx.resource(label, "skip", f"is {current.value} and not editable on this plan")
            ctx.notice(
                f"Cloudflare: {name} is not editable on zone {zone.name}; set it to {wanted} "
                "in the dashboard if the plan allows."
            )
            continue
        ctx.resource(label, "update", f"{current.value} → {wanted}")
        if not ctx.dry_run:
            await client.set_setting(zone.id, name, wanted)


async def _rule(
    ctx: StepContext, client: CloudflareClient, zone: Zone, phase: str, wanted: Rule, what: str
) -> list[Rule]:
    ruleset = await client.get_entrypoint(zone.id, phase)
    rules, action = upsert_rule(ruleset.rules, wanted)
    label = f"{zone.name} {what} '{wanted.description}'"
    kept = len(ruleset.rules) - (0 if action == "create" else 1)
    detail = {
        "create": f"add (the zone's {kept} other rule(s) in this phase are kept)",
        "update": f"bring back to the wizard's definition ({kept} other rule(s) kept)",
        "unchanged": "already in place",
    }[action]
    ctx.resource(label, action, detail)
    if action != "unchanged" and not ctx.dry_run:
        await client.put_entrypoint(zone.id, phase, rules)
    return rules
