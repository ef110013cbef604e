"""Better Stack Uptime (the guide's "Better Uptime"), API v2: HTTP monitors.

``GET /api/v2/monitors?url=…`` (JSON:API: ``{"data": [{"id", "type", "attributes"}],
"pagination": {"next"}}``) and ``POST /api/v2/monitors`` with ``monitor_type``, ``url``,
``pronounceable_name``, ``check_frequency`` (seconds) and ``email`` (alert the team by mail).
Bearer token: a team's Uptime API token.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from providers.errors import AuthError
from providers.http import BearerApi, PageGuard

SERVICE = "Better Stack"
TOKEN_KEY = "BETTERSTACK_API_TOKEN"
URL_VARIABLE = "BETTERSTACK_API_URL"
DEFAULT_URL = "https://uptime.betterstack.com"


@dataclass(frozen=True)
class Monitor:
    id: str
    url: str
    check_frequency: int
    email: bool


def _monitor(item: dict[str, Any]) -> Monitor:
    attrs = item.get("attributes") or {}
    return Monitor(
        id=str(item.get("id", "")),
        url=str(attrs.get("url") or ""),
        check_frequency=int(attrs.get("check_frequency") or 0),
        email=bool(attrs.get("email")),
    )


class BetterStackClient(BearerApi):
    SERVICE = SERVICE
    URL_VARIABLE = URL_VARIABLE
    DEFAULT_URL = DEFAULT_URL

    async def find_monitors(self, url: str) -> list[Monitor]:
        found: list[Monitor] = []
        params: dict[str, str] = {"url": url}
        path = "/api/v2/monitors"
        guard = PageGuard(SERVICE, "monitor listing", key=TOKEN_KEY)
        while guard.more_allowed():
            try:
                data = await self._http.get_json(path, params=params, key=TOKEN_KEY)
            except AuthError as err:
                raise AuthError(
                    SERVICE,
                    err.message,
                    key=TOKEN_KEY,
                    hint="use a team's Uptime API token (Integrations → API → Uptime)",
                    status=err.status,
                ) from None
            items = [i for i in (data.get("data") or []) if isinstance(i, dict)]
            found.extend(_monitor(i) for i in items)
            nxt = (data.get("pagination") or {}).get("next")
            if not nxt or not guard.fresh_items(items):
                break
            # Only the path and query of the next link: the token never leaves the base URL.
            parts = urlsplit(str(nxt))
            path, params = parts.path, dict(parse_qsl(parts.query))
        # The filter matches substrings: keep exact matches only.
        return [m for m in found if m.url == url]

    async def create_monitor(self, url: str, name: str, *, every: int) -> Monitor:
        body = {
            "monitor_type": "status",
            "url": url,
            "pronounceable_name": name,
            "check_frequency": every,
            "email": True,
        }
        response = await self._http.request("POST", "/api/v2/monitors", json=body, key=TOKEN_KEY)
        return _monitor(response.json().get("data") or {})
