"""Cloudflare DNS records of one zone: list by name, create, edit, delete one by id.

Shapes from Cloudflare's API (``/zones/{zone_id}/dns_records`` and ``.../{dns_record_id}``;
cloudflare-python's ``RecordCreateParams``/``RecordEditParams``): ``type``, ``name``,
``content``, ``ttl`` (1 = automatic), ``proxied``. Only records the caller names are touched.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from providers.cloudflare import CloudflareClient

DNS_HINT = "the token needs Zone → DNS → Edit on this zone"
PROXIABLE = frozenset({"A", "AAAA", "CNAME"})


@dataclass(frozen=True)
class Record:
    id: str
    type: str
    name: str
    content: str
    proxied: bool

    @classmethod
    def from_api(cls, raw: dict[str, Any]) -> Record:
        return cls(
            id=str(raw.get("id") or ""),
            type=str(raw.get("type") or "").upper(),
            name=str(raw.get("name") or "").lower().rstrip("."),
            content=str(raw.get("content") or "").rstrip(".")
            if raw.get("type") != "TXT"
            else str(raw.get("content") or ""),
            proxied=raw.get("proxied") is True,
        )


def body(type: str, name: str, content: str, proxied: bool) -> dict[str, Any]:
    out: dict[str, Any] = {"type": type, "name": name, "content": content, "ttl": 1}
    if type in PROXIABLE:
        out["proxied"] = proxied
    return out


class DnsClient(CloudflareClient):
    def _path(self, zone_id: str, record_id: str = "") -> str:
        path = f"/zones/{quote(zone_id, safe='')}/dns_records"
        return path + (f"/{quote(record_id, safe='')}" if record_id else "")

    async def records(self, zone_id: str, name: str) -> list[Record]:
        """Every record named ``name`` (one page of 100 is far above what one name has)."""
        _, result = await self._call(
            "GET",
            self._path(zone_id),
            params={"name": name, "per_page": "100"},
            hint="the token needs Zone → DNS → Read on this zone",
        )
        return [Record.from_api(r) for r in result or [] if isinstance(r, dict)]

    async def create(
        self, zone_id: str, type: str, name: str, content: str, proxied: bool
    ) -> Record:
        _, result = await self._call(
            "POST", self._path(zone_id), json=body(type, name, content, proxied), hint=DNS_HINT
        )
        return Record.from_api(result if isinstance(result, dict) else {})

    async def edit(
        self, zone_id: str, record_id: str, type: str, name: str, content: str, proxied: bool
    ) -> Record:
        _, result = await self._call(
            "PATCH",
            self._path(zone_id, record_id),
            json=body(type, name, content, proxied),
            hint=DNS_HINT,
        )
        return Record.from_api(result if isinstance(result, dict) else {})

    async def delete(self, zone_id: str, record_id: str) -> None:
        await self._call("DELETE", self._path(zone_id, record_id), hint=DNS_HINT)
