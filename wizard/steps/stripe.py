"""Step "stripe": keys checked, the webhook endpoint created once, its secret captured.

Stripe has no prefix wildcards, so the guide's ``customer.subscription.*`` is spelled out.
The endpoint's signing secret comes back only in the create answer: it goes straight to
STRIPE_WEBHOOK_SECRET through ``ctx.provide`` (written to the env file at once). A rerun
finds the endpoint by URL and creates nothing. When the endpoint exists but the secret is
not known, the step stops and offers the roll (``stripe_roll_webhook=yes``: delete and
create again) instead of quietly making a second endpoint.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from providers.errors import Conflict, NotFound, PermissionDenied, ProviderError
from providers.stripe import (
    DEFAULT_URL,
    SECRET_KEY,
    SERVICE,
    CreatedEndpoint,
    StripeClient,
    WebhookEndpoint,
    key_mode,
    webhook_idempotency_key,
)
from providers.urls import is_loopback_host
from wizard.context import StepContext

PUBLISHABLE_KEY = "NEXT_PUBLIC_STRIPE_PUBLISHABLE_KEY"
WEBHOOK_SECRET_KEY = "STRIPE_WEBHOOK_SECRET"
SITE_KEY = "NEXTAUTH_URL"
ROLL_CHOICE = "stripe_roll_webhook"
WEBHOOK_PATH = "/api/webhooks/stripe"
DESCRIPTION = "Dream Pixel (dream-pixel-setup)"
CHECKED = "stripe.checked"
MATCHES = "stripe.endpoints"  # endpoints already at our URL, read by check()

SUBSCRIPTION_EVENTS = tuple(
    f"customer.subscription.{e}"
    for e in (
        "created",
        "updated",
        "deleted",
        "paused",
        "resumed",
        "trial_will_end",
        "pending_update_applied",
        "pending_update_expired",
    )
)
EVENTS: tuple[str, ...] = ("payment_intent.succeeded", "charge.failed", *SUBSCRIPTION_EVENTS)


def _client(ctx: StepContext) -> StripeClient:
    key = ctx.require(
        SECRET_KEY, SERVICE, "copy the secret key from Dashboard → Developers → API keys"
    )
    return StripeClient(key, base_url=ctx.base_url("STRIPE_API_URL", DEFAULT_URL, SERVICE))


def _check_modes(ctx: StepContext) -> None:
    secret = ctx.app(SECRET_KEY) or ""
    mode = key_mode(secret)
    if mode is None:
        raise ProviderError(
            SERVICE,
            f"{SECRET_KEY} is not a Stripe secret key (sk_live_… or rk_live_…)",
            key=SECRET_KEY,
            hint="copy the secret key from Dashboard → Developers → API keys",
        )
    if ctx.environment == "production" and mode == "test":
        raise ProviderError(
            SERVICE,
            f"{SECRET_KEY} is a test-mode key, refused for production",
            key=SECRET_KEY,
            hint="use the live key (sk_live_…): turn off Test mode in the Dashboard, then "
            "Developers → API keys",
        )
    publishable = ctx.app(PUBLISHABLE_KEY)
    if publishable and key_mode(publishable) != mode:
        raise ProviderError(
            SERVICE,
            f"{PUBLISHABLE_KEY} is a {key_mode(publishable) or 'non-Stripe'} key but "
            f"{SECRET_KEY} is a {mode} key",
            key=PUBLISHABLE_KEY,
            hint="take both keys from the same mode (live for production) on the API keys page",
        )


def webhook_url(site: str) -> str:
    return site.rstrip("/") + WEBHOOK_PATH


def _same_url(a: str, b: str) -> bool:
    return a.rstrip("/").lower() == b.rstrip("/").lower()


def _site_webhook_url(ctx: StepContext) -> str | None:
    """The endpoint URL, or None when the site is local (Stripe cannot reach it)."""
    site = ctx.app(SITE_KEY)
    if not site:
        raise ProviderError(
            SERVICE,
            "NEXTAUTH_URL is not set: the webhook URL derives from it",
            key=SITE_KEY,
            hint="set NEXTAUTH_URL to the production URL, e.g. https://dreampixel.app",
        )
    url = webhook_url(site)
    return None if is_loopback_host(urlsplit(url).hostname) else url


async def check(ctx: StepContext) -> None:
    """Keys, account, and the webhook endpoint's state: an endpoint whose secret is lost
    stops the run here, before any step has changed anything."""
    _check_modes(ctx)
    url = _site_webhook_url(ctx)
    async with _client(ctx) as client:
        try:
            ctx.scratch["stripe.account"] = (await client.get_account()).id
        except PermissionDenied:
            if not (ctx.app(SECRET_KEY) or "").startswith("rk_"):
                raise
            # A restricted key may lack account read and still manage webhooks: the
            # endpoint listing below (a read it does need) proves it instead.
        if url is None and "stripe.account" not in ctx.scratch:
            await client.list_webhook_endpoints(page_size=1, max_pages=1)
        elif url is not None:
            endpoints = await client.list_webhook_endpoints()
            matches = [e for e in endpoints if _same_url(e.url, url)]
            ctx.scratch[MATCHES] = matches
            if matches:
                _refuse_unknown_secret(ctx, _pick(ctx, matches), url)
    ctx.scratch[CHECKED] = True


def _needs_new_secret(ctx: StepContext, endpoint: WebhookEndpoint) -> bool:
    secret = ctx.app(WEBHOOK_SECRET_KEY)
    return not secret or _secret_is_stale(ctx, endpoint, secret)


def _maybe_lost_create(ctx: StepContext, endpoint: WebhookEndpoint) -> bool:
    """Made by this wizard, its secret never stored: a create whose answer was lost (kill,
    crash). Stripe replays it, secret included, for the same Idempotency-Key (24 h)."""
    return (
        endpoint.description == DESCRIPTION
        and not ctx.app(WEBHOOK_SECRET_KEY)
        and ctx.choice(ROLL_CHOICE) != "yes"
    )


def _unknown_secret(ctx: StepContext, endpoint: WebhookEndpoint, url: str) -> Conflict:
    what = "belongs to an earlier endpoint" if ctx.app(WEBHOOK_SECRET_KEY) else "is not known"
    return Conflict(
        SERVICE,
        f"webhook endpoint {endpoint.id} for {url} exists but its signing secret {what}",
        key=WEBHOOK_SECRET_KEY,
        hint="Stripe's API shows the secret only once, at creation. Either reveal it in "
        "Dashboard → Developers → Webhooks → the endpoint → Signing secret and set "
        f"{WEBHOOK_SECRET_KEY}, or roll it (choice {ROLL_CHOICE}=yes): the wizard deletes the "
        "endpoint and creates it again with a new secret",
    )


def _refuse_unknown_secret(ctx: StepContext, endpoint: WebhookEndpoint, url: str) -> None:
    if not _needs_new_secret(ctx, endpoint) or ctx.choice(ROLL_CHOICE) == "yes":
        return
    if _maybe_lost_create(ctx, endpoint):
        return  # run() first asks Stripe to replay the create
    raise _unknown_secret(ctx, endpoint, url)


async def run(ctx: StepContext) -> None:
    if CHECKED not in ctx.scratch:
        await check(ctx)
    url = _site_webhook_url(ctx)
    if url is None:
        local = webhook_url(ctx.app(SITE_KEY) or "")
        ctx.resource(f"webhook endpoint {local}", "skip", "Stripe cannot reach this machine")
        ctx.notice(
            "Stripe: NEXTAUTH_URL is local, so no webhook endpoint was created. Run `stripe "
            f"listen --forward-to {local}` and put the whsec_… it prints in "
            f"{WEBHOOK_SECRET_KEY}."
        )
        return
    label = f"webhook endpoint {url}"
    matches: list[WebhookEndpoint] = ctx.scratch[MATCHES]
    async with _client(ctx) as client:
        if not matches:
            await _create(ctx, client, url, label)
            return
        endpoint = _pick(ctx, matches)
        if len(matches) > 1:
            others = ", ".join(e.id for e in matches if e.id != endpoint.id)
            ctx.notice(
                f"Stripe: {len(matches)} webhook endpoints point at {url}; Stripe sends every "
                f"event to each. The wizard uses {endpoint.id}; delete the others ({others}) in "
                "Dashboard → Developers → Webhooks."
            )
        if _needs_new_secret(ctx, endpoint) and _maybe_lost_create(ctx, endpoint):
            await _recover(ctx, client, endpoint, url, label)
            return
        if _needs_new_secret(ctx, endpoint):
            _refuse_unknown_secret(ctx, endpoint, url)  # raises unless the roll was chosen
            await _create(ctx, client, url, label, replaces=endpoint)
            return
        await _reconcile(ctx, client, endpoint, label)
    if not ctx.dry_run:
        ctx.memory["webhook_endpoint_id"] = endpoint.id
        # Lets a later run tell whether this secret still belongs to this endpoint.
        ctx.memory["webhook_secret_digest"] = ctx.digest(ctx.app(WEBHOOK_SECRET_KEY) or "")


def _pick(ctx: StepContext, matches: list[WebhookEndpoint]) -> WebhookEndpoint:
    remembered = ctx.memory.get("webhook_endpoint_id")
    for e in matches:
        if e.id == remembered:
            return e
    return matches[0]


def _secret_is_stale(ctx: StepContext, endpoint: WebhookEndpoint, secret: str) -> bool:
    """The known secret is one the wizard captured for a different endpoint id (someone
    deleted and recreated the endpoint since): it cannot verify this endpoint's events."""
    remembered = ctx.memory.get("webhook_endpoint_id")
    digest = ctx.memory.get("webhook_secret_digest")
    return bool(remembered and remembered != endpoint.id and digest == ctx.digest(secret))


async def _reconcile(
    ctx: StepContext, client: StripeClient, endpoint: WebhookEndpoint, label: str
) -> None:
    have = set(endpoint.enabled_events)
    # Events the user added by hand are kept: the app's handler may use them.
    missing = [] if "*" in have else [e for e in EVENTS if e not in have]
    disabled = endpoint.status == "disabled"
    if not missing and not disabled:
        ctx.resource(label, "unchanged", f"{endpoint.id}, all {len(EVENTS)} events enabled")
        return
    parts = []
    if missing:
        parts.append(f"enable {len(missing)} missing event(s): {', '.join(missing)}")
    if disabled:
        parts.append("re-enable the endpoint (Stripe disabled it)")
    ctx.resource(label, "update", f"{endpoint.id}: " + "; ".join(parts))
    if ctx.dry_run:
        return
    await client.update_webhook_endpoint(
        endpoint.id,
        events=sorted(have | set(EVENTS)) if missing else None,
        disabled=False if disabled else None,
    )


async def _create(
    ctx: StepContext,
    client: StripeClient,
    url: str,
    label: str,
    *,
    replaces: WebhookEndpoint | None = None,
) -> None:
    if replaces is None:
        detail = f"{len(EVENTS)} events; its signing secret goes to {WEBHOOK_SECRET_KEY}"
    else:
        detail = (
            f"roll: delete {replaces.id} and create it again ({len(EVENTS)} events); the old "
            f"signing secret stops working and the new one goes to {WEBHOOK_SECRET_KEY}"
        )
    ctx.resource(label, "create", detail)
    if replaces is not None:
        ctx.notice(
            f"Stripe: the webhook endpoint {replaces.id} is "
            + ("to be deleted and created again" if ctx.dry_run else "deleted and created again")
            + f" to get a new signing secret; {WEBHOOK_SECRET_KEY} is "
            + ("to be replaced." if ctx.dry_run else "replaced.")
        )
    elif ctx.app(WEBHOOK_SECRET_KEY):
        ctx.notice(
            f"Stripe: no webhook endpoint points at {url}, so the {WEBHOOK_SECRET_KEY} already "
            "set cannot belong to it; the new endpoint's secret replaces it."
        )
    if ctx.dry_run:
        ctx.pending(WEBHOOK_SECRET_KEY)
        return
    if replaces is not None:
        try:
            await client.delete_webhook_endpoint(replaces.id)
        except NotFound:
            pass  # already gone: the goal of the delete is reached
    key = webhook_idempotency_key(url, EVENTS, replaces=replaces.id if replaces else "")
    created = await client.create_webhook_endpoint(
        url, EVENTS, idempotency_key=key, description=DESCRIPTION
    )
    if created.replayed:
        created = await _fresh_if_gone(client, created, url, key)
    # Persist the secret before anything else can fail: Stripe will not show it again.
    ctx.provide(WEBHOOK_SECRET_KEY, created.secret)
    ctx.memory["webhook_endpoint_id"] = created.endpoint.id
    ctx.memory["webhook_secret_digest"] = ctx.digest(created.secret)


async def _fresh_if_gone(
    client: StripeClient, created: CreatedEndpoint, url: str, key: str
) -> CreatedEndpoint:
    """A replayed create answers with the endpoint made under this key earlier. If that
    endpoint was deleted since (within Stripe's 24-hour key window), create a real one."""
    try:
        await client.get_webhook_endpoint(created.endpoint.id)
        return created
    except NotFound:
        return await client.create_webhook_endpoint(
            url, EVENTS, idempotency_key=f"{key}-{created.endpoint.id}", description=DESCRIPTION
        )


async def _recover(
    ctx: StepContext, client: StripeClient, endpoint: WebhookEndpoint, url: str, label: str
) -> None:
    """Replay the create (same Idempotency-Key) to get the secret a killed run lost."""
    ctx.resource(label, "update", f"{endpoint.id}: recover its signing secret")
    if ctx.dry_run:
        ctx.pending(WEBHOOK_SECRET_KEY)
        return
    key = webhook_idempotency_key(url, EVENTS)
    created = await client.create_webhook_endpoint(
        url, EVENTS, idempotency_key=key, description=DESCRIPTION
    )
    if not (created.replayed and created.endpoint.id == endpoint.id):
        if not created.replayed:  # no earlier create to replay: take the new one back
            await client.delete_webhook_endpoint(created.endpoint.id)
        raise _unknown_secret(ctx, endpoint, url)
    ctx.provide(WEBHOOK_SECRET_KEY, created.secret)
    ctx.memory["webhook_endpoint_id"] = endpoint.id
    ctx.memory["webhook_secret_digest"] = ctx.digest(created.secret)
