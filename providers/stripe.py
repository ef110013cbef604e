"""Stripe's REST API: key check and webhook endpoints.

Bodies are form-encoded (lists as ``enabled_events[]=a&enabled_events[]=b``); errors are
``{"error": {"type", "message", "code"}}``. A webhook endpoint's signing secret
(``whsec_…``) is in the create answer only. Creates carry an ``Idempotency-Key`` so a
retry after a lost answer replays the first answer (``Idempotent-Replayed: true``)
instead of making a second endpoint.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal
from urllib.parse import quote

import httpx

from providers.errors import AuthError, PermissionDenied, ProviderError
from providers.http import BearerApi, PageGuard

SERVICE = "Stripe"
SECRET_KEY = "STRIPE_SECRET_KEY"
DEFAULT_URL = "https://api.stripe.com"

Mode = Literal["live", "test"]

# Stripe quotes the key back in some messages ("Invalid API Key provided: sk_test_****1234").
_KEYLIKE = re.compile(r"\b(sk|rk|pk|whsec)_(live_|test_)?[A-Za-z0-9_*]+")


def key_mode(key: str) -> Mode | None:
    """live/test from a key's prefix (sk_, rk_, pk_), or None when it has neither."""
    m = re.match(r"^(sk|rk|pk)_(live|test)_", key)
    return m.group(2) if m else None  # type: ignore[return-value]


def scrub(text: str) -> str:
    return _KEYLIKE.sub(lambda m: f"{m.group(1)}_{m.group(2) or ''}…", text)


def webhook_idempotency_key(url: str, events: Iterable[str], *, replaces: str = "") -> str:
    """Stable across retries and reruns for the same endpoint; different when rolling
    (``replaces`` is the id of the endpoint being replaced) so Stripe does not replay
    the old endpoint's creation."""
    material = "\n".join([url, ",".join(sorted(set(events))), replaces])
    return "dream-pixel-webhook-" + hashlib.sha256(material.encode()).hexdigest()[:40]


@dataclass(frozen=True)
class Account:
    id: str
    display_name: str
    country: str
    charges_enabled: bool


@dataclass(frozen=True)
class WebhookEndpoint:
    id: str
    url: str
    enabled_events: tuple[str, ...]
    status: str  # "enabled" | "disabled"
    livemode: bool
    description: str = ""


@dataclass(frozen=True)
class CreatedEndpoint:
    endpoint: WebhookEndpoint
    secret: str = field(repr=False)
    # True when Stripe answered from its idempotency cache (an earlier identical create).
    replayed: bool = False


class StripeClient(BearerApi):
    SERVICE = SERVICE
    URL_VARIABLE = "STRIPE_API_URL"
    DEFAULT_URL = DEFAULT_URL

    async def _request(
        self, method: str, path: str, *, on_403: str = "", **kwargs: Any
    ) -> httpx.Response:
        """One call. ``on_403`` says what permission a restricted key lacks."""
        try:
            return await self._http.request(method, path, key=SECRET_KEY, **kwargs)
        except ProviderError as err:
            hint = err.hint
            if isinstance(err, AuthError):
                hint = "check STRIPE_SECRET_KEY (Dashboard → Developers → API keys)"
            elif isinstance(err, PermissionDenied) and on_403:
                hint = on_403
            # Same class, but never a (masked) key echoed back by Stripe.
            raise type(err)(
                err.service, scrub(err.message), key=err.key, hint=hint, status=err.status
            ) from None

    async def get_account(self) -> Account:
        data = (
            await self._request(
                "GET",
                "/v1/account",
                on_403="a restricted key needs read access to the account",
            )
        ).json()
        dashboard = (data.get("settings") or {}).get("dashboard") or {}
        profile = data.get("business_profile") or {}
        return Account(
            id=str(data.get("id", "")),
            display_name=str(dashboard.get("display_name") or profile.get("name") or ""),
            country=str(data.get("country") or ""),
            charges_enabled=bool(data.get("charges_enabled", False)),
        )

    async def list_webhook_endpoints(
        self, *, page_size: int = 100, max_pages: int | None = None
    ) -> list[WebhookEndpoint]:
        """Every endpoint, following ``has_more`` with ``starting_after``."""
        out: list[WebhookEndpoint] = []
        params: dict[str, Any] = {"limit": page_size}
        guard = PageGuard(SERVICE, "webhook endpoint listing", key=SECRET_KEY)
        while guard.more_allowed():
            page = (
                await self._request(
                    "GET",
                    "/v1/webhook_endpoints",
                    params=params,
                    on_403="a restricted key needs Webhook Endpoints: Write",
                )
            ).json()
            data = [e for e in page.get("data") or [] if isinstance(e, dict)]
            out.extend(_endpoint(e) for e in data)
            if (
                not page.get("has_more")
                or not guard.fresh_items(data)
                or not data[-1].get("id")
                or (max_pages is not None and guard.pages >= max_pages)
            ):
                break
            params = {"limit": page_size, "starting_after": data[-1]["id"]}
        return out

    async def get_webhook_endpoint(self, endpoint_id: str) -> WebhookEndpoint:
        data = (
            await self._request("GET", f"/v1/webhook_endpoints/{quote(endpoint_id, safe='')}")
        ).json()
        return _endpoint(data)

    async def create_webhook_endpoint(
        self,
        url: str,
        events: Sequence[str],
        *,
        idempotency_key: str,
        description: str = "",
    ) -> CreatedEndpoint:
        form: dict[str, Any] = {"url": url, "enabled_events[]": list(events)}
        if description:
            form["description"] = description
        response = await self._request(
            "POST",
            "/v1/webhook_endpoints",
            data=form,
            headers={"Idempotency-Key": idempotency_key},
            # The Idempotency-Key makes a retried create safe even after a lost answer.
            idempotent=True,
            on_403="a restricted key needs Webhook Endpoints: Write",
        )
        data = response.json()
        secret = str(data.get("secret") or "")
        if not secret.startswith("whsec_"):
            raise ProviderError(
                SERVICE,
                "the new webhook endpoint came back without its signing secret",
                key="STRIPE_WEBHOOK_SECRET",
                hint="reveal it in Dashboard → Developers → Webhooks and set STRIPE_WEBHOOK_SECRET",
            )
        return CreatedEndpoint(
            endpoint=_endpoint(data),
            secret=secret,
            replayed=response.headers.get("idempotent-replayed", "").lower() == "true",
        )

    async def update_webhook_endpoint(
        self,
        endpoint_id: str,
        *,
        events: Sequence[str] | None = None,
        disabled: bool | None = None,
    ) -> WebhookEndpoint:
        form: dict[str, Any] = {}
        if events is not None:
            form["enabled_events[]"] = list(events)
        if disabled is not None:
            form["disabled"] = "true" if disabled else "false"
        data = (
            await self._request(
                "POST",
                f"/v1/webhook_endpoints/{quote(endpoint_id, safe='')}",
                data=form,
                # Setting the same fields twice ends in the same state.
                idempotent=True,
            )
        ).json()
        return _endpoint(data)

    async def delete_webhook_endpoint(self, endpoint_id: str) -> None:
        await self._request("DELETE", f"/v1/webhook_endpoints/{quote(endpoint_id, safe='')}")


def _endpoint(data: dict[str, Any]) -> WebhookEndpoint:
    return WebhookEndpoint(
        id=str(data.get("id", "")),
        url=str(data.get("url", "")),
        enabled_events=tuple(str(e) for e in data.get("enabled_events") or ()),
        status=str(data.get("status") or "enabled"),
        livemode=bool(data.get("livemode", False)),
        description=str(data.get("description") or ""),
    )
