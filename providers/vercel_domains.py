"""Vercel project domains and the DNS records Vercel wants for them.

``GET /v9/projects/{idOrName}/domains/{domain}`` (404: not on the project),
``POST /v10/projects/{idOrName}/domains`` (``name``, ``redirect``, ``redirectStatusCode``; 409
when another project or team holds it), ``POST .../domains/{domain}/verify``, and
``GET /v6/domains/{domain}/config`` (``recommendedIPv4``, ``recommendedCNAME``,
``misconfigured``): the records come from Vercel, never from constants here.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from providers.errors import Conflict, NotFound, ProviderError
from providers.vercel import SERVICE, VercelClient

REDIRECT_STATUS = 308  # permanent, keeps the method


@dataclass(frozen=True)
class Challenge:
    type: str  # "TXT"
    domain: str  # where the record goes, e.g. _vercel.dreampixel.app
    value: str


@dataclass(frozen=True)
class ProjectDomain:
    name: str
    verified: bool
    redirect: str | None
    challenges: tuple[Challenge, ...]

    @classmethod
    def from_json(cls, raw: Mapping[str, Any]) -> ProjectDomain:
        challenges = tuple(
            Challenge(
                str(c.get("type") or ""), str(c.get("domain") or ""), str(c.get("value") or "")
            )
            for c in raw.get("verification") or []
            if isinstance(c, dict)
        )
        return cls(
            name=str(raw.get("name") or ""),
            verified=raw.get("verified") is True,
            redirect=str(raw["redirect"]) if raw.get("redirect") else None,
            challenges=challenges,
        )


@dataclass(frozen=True)
class DomainConfig:
    misconfigured: bool
    ipv4: tuple[str, ...]  # rank 1
    cname: str | None  # rank 1

    @classmethod
    def from_json(cls, raw: Mapping[str, Any]) -> DomainConfig:
        def first(items: Any) -> Any:
            ranked = [i for i in items or [] if isinstance(i, dict)]
            ranked.sort(key=lambda i: i.get("rank") or 99)
            return ranked[0].get("value") if ranked else None

        ipv4 = first(raw.get("recommendedIPv4"))
        cname = first(raw.get("recommendedCNAME"))
        return cls(
            misconfigured=raw.get("misconfigured") is not False,
            ipv4=tuple(str(v) for v in ipv4) if isinstance(ipv4, list) else (),
            cname=str(cname).rstrip(".") if cname else None,
        )


class DomainsClient(VercelClient):
    def _domain_path(self, project: str, domain: str = "") -> str:
        path = self._project_path(project) + "/domains"
        return path + (f"/{quote(domain, safe='')}" if domain else "")

    async def project_domain(self, project: str, domain: str) -> ProjectDomain | None:
        try:
            response = await self._request("GET", "/v9" + self._domain_path(project, domain))
        except NotFound:
            return None
        body = response.json()
        return ProjectDomain.from_json(body if isinstance(body, dict) else {})

    async def add_domain(
        self, project: str, domain: str, *, redirect: str | None = None
    ) -> ProjectDomain:
        body: dict[str, Any] = {"name": domain}
        if redirect:
            body |= {"redirect": redirect, "redirectStatusCode": REDIRECT_STATUS}
        try:
            response = await self._request(
                "POST", "/v10" + self._domain_path(project), json=body, key=domain
            )
        except Conflict as err:
            raise Conflict(
                SERVICE,
                f"{domain} is held by another Vercel project or team ({err.message})",
                key="NEXTAUTH_URL",
                hint="remove it from that project (Project → Settings → Domains), or move it to "
                "this team, then run again",
                status=err.status,
            ) from None
        raw = response.json()
        return ProjectDomain.from_json(raw if isinstance(raw, dict) else {})

    async def verify(self, project: str, domain: str) -> ProjectDomain:
        response = await self._request(
            "POST", "/v9" + self._domain_path(project, domain) + "/verify", idempotent=True
        )
        raw = response.json()
        return ProjectDomain.from_json(raw if isinstance(raw, dict) else {})

    async def config(self, domain: str) -> DomainConfig:
        response = await self._request("GET", f"/v6/domains/{quote(domain, safe='')}/config")
        raw = response.json()
        if not isinstance(raw, dict):
            raise ProviderError(SERVICE, f"unexpected answer for {domain}'s DNS configuration")
        return DomainConfig.from_json(raw)
