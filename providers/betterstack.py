"""Better Stack Uptime (the guide's "Better Uptime"), API v2: HTTP monitors.

As Better Stack documents them (betterstack.com/docs/uptime/api/: list-all-existing-monitors,
create-a-new-monitor, update-an-existing-monitor, pagination; field meanings also in its
Terraform provider, BetterStackHQ/terraform-provider-better-uptime
internal/provider/resource_monitor.go):

- ``GET /api/v2/monitors?url=…`` filters by URL; JSON:API ``{"data": [{"id", "type":
  "monitor", "attributes"}], "pagination": {"first", "last", "prev", "next"}}``, ``next`` an
  absolute URL or null (50 a page by default).
- ``POST /api/v2/monitors`` (201) and ``PATCH /api/v2/monitors/{id}`` (200) take
  ``monitor_type`` ("status": any 2XX answer is up; "keyword" would need ``required_keyword``),
  ``url``, ``pronounceable_name``, ``check_frequency`` in seconds and ``email`` (mail the team
  on a new incident). ``request_timeout``, ``recovery_period`` and ``confirmation_period`` keep
  Better Stack's defaults.
- ``Authorization: Bearer <token>``, a team's Uptime API token; errors are ``{"errors":
  "..."}`` (401: "Invalid Team API token...", 404: "Resource with provided ID was not found").
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, quote, urlsplit

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
    name: str = ""
    monitor_type: str = ""


def _monitor(item: dict[str, Any]) -> Monitor:
    attrs = item.get("attributes") or {}
    return Monitor(
        id=str(item.get("id", "")),
        url=str(attrs.get("url") or ""),
        check_frequency=int(attrs.get("check_frequency") or 0),
        email=bool(attrs.get("email")),
        name=str(attrs.get("pronounceable_name") or ""),
        monitor_type=str(attrs.get("monitor_type") or ""),
    )


def monitor_body(url: str, name: str, *, every: int) -> dict[str, Any]:
    """An HTTP check that is down on anything but a 2XX answer, mailing the team."""
    return {
        "monitor_type": "status",
        "url": url,
        "pronounceable_name": name,
        "check_frequency": every,
        "email": True,
    }


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
            data = data if isinstance(data, dict) else {}  # not the documented shape: no page
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
        body = monitor_body(url, name, every=every)
        response = await self._http.request("POST", "/api/v2/monitors", json=body, key=TOKEN_KEY)
        answer = response.json()
        return _monitor((answer.get("data") if isinstance(answer, dict) else None) or {})

    async def update_monitor(self, monitor_id: str, url: str, name: str, *, every: int) -> None:
        path = f"/api/v2/monitors/{quote(monitor_id, safe='')}"
        body = monitor_body(url, name, every=every)
        await self._http.request("PATCH", path, json=body, key=TOKEN_KEY)
