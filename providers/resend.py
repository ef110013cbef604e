"""Resend's API: sending domains and their DNS records.

``GET /domains`` lists domains with their ``status`` (verified, pending, failed,
not_started, partially_verified, partially_failed); ``GET /domains/{id}`` adds the
``records`` to publish. Errors are ``{"statusCode", "name", "message"}``. A sending-only
key answers 401 ``restricted_api_key`` on these endpoints: it is a valid key that may
only send, raised here as ``SendingOnlyKey`` so callers do not call it invalid.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import httpx

from providers.errors import AuthError, PermissionDenied
from providers.http import BearerApi, PageGuard, map_error

SERVICE = "Resend"
KEY = "RESEND_API_KEY"
DEFAULT_URL = "https://api.resend.com"

VERIFIED = "verified"


class SendingOnlyKey(PermissionDenied):
    """The key is valid but restricted to sending email."""


@dataclass(frozen=True)
class Domain:
    id: str
    name: str
    status: str
    region: str = ""

    @property
    def verified(self) -> bool:
        return self.status == VERIFIED


@dataclass(frozen=True)
class DnsRecord:
    record: str  # "SPF", "DKIM", "DMARC", "Receiving"...
    type: str  # "MX", "TXT", "CNAME"
    name: str
    value: str
    status: str = ""
    priority: int | None = None
    ttl: str = ""


@dataclass(frozen=True)
class DomainDetail:
    domain: Domain
    records: tuple[DnsRecord, ...]


class ResendClient(BearerApi):
    SERVICE = SERVICE
    URL_VARIABLE = "RESEND_API_URL"
    DEFAULT_URL = DEFAULT_URL

    async def _get(self, path: str, params: dict[str, Any] | None = None) -> Any:
        # 400/401/403 are read here: Resend reports a bad key with any of the three.
        response = await self._http.request("GET", path, params=params, key=KEY, ok=(400, 401, 403))
        if response.status_code < 300:
            return response.json()
        name = _error_name(response)
        if name == "restricted_api_key":
            raise SendingOnlyKey(
                SERVICE,
                "the key is restricted to sending emails",
                key=KEY,
                hint="it can send mail but cannot read domains; use a Full access key to let "
                "the wizard check the domain",
                status=response.status_code,
            )
        if name in ("invalid_api_key", "missing_api_key") or response.status_code in (401, 403):
            raise AuthError(
                SERVICE,
                f"HTTP {response.status_code}: the API key was rejected",
                key=KEY,
                hint="check RESEND_API_KEY or create a new key at resend.com/api-keys",
                status=response.status_code,
            )
        if name == "validation_error" and "api key" in _error_message(response).lower():
            raise AuthError(
                SERVICE,
                "the API key is invalid",
                key=KEY,
                hint="check RESEND_API_KEY or create a new key at resend.com/api-keys",
                status=response.status_code,
            )
        raise map_error(SERVICE, response, key=KEY)

    async def list_domains(self) -> list[Domain]:
        out: list[Domain] = []
        params: dict[str, Any] = {}
        guard = PageGuard(SERVICE, "domain listing", key=KEY)
        while guard.more_allowed():
            page = await self._get("/domains", params or None)
            data = (page.get("data") or []) if isinstance(page, dict) else []
            data = [d for d in data if isinstance(d, dict)]
            out.extend(_domain(d) for d in data)
            if (
                not (isinstance(page, dict) and page.get("has_more"))
                or not guard.fresh_items(data)
                or not data[-1].get("id")
            ):
                break
            params = {"after": data[-1]["id"]}
        return out

    async def get_domain(self, domain_id: str) -> DomainDetail:
        data = await self._get(f"/domains/{quote(domain_id, safe='')}")
        records = tuple(
            DnsRecord(
                record=str(r.get("record") or ""),
                type=str(r.get("type") or ""),
                name=str(r.get("name") or ""),
                value=str(r.get("value") or ""),
                status=str(r.get("status") or ""),
                priority=int(r["priority"]) if r.get("priority") is not None else None,
                ttl=str(r.get("ttl") or ""),
            )
            for r in data.get("records") or ()
        )
        return DomainDetail(domain=_domain(data), records=records)


def _domain(d: dict[str, Any]) -> Domain:
    return Domain(
        id=str(d.get("id", "")),
        name=str(d.get("name", "")).lower(),
        status=str(d.get("status") or ""),
        region=str(d.get("region") or ""),
    )


def _body(response: httpx.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def _error_name(response: httpx.Response) -> str:
    return str(_body(response).get("name") or "")


def _error_message(response: httpx.Response) -> str:
    return str(_body(response).get("message") or "")
