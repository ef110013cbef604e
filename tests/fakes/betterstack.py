"""A fake Better Stack Uptime API (v2): ``GET /api/v2/monitors`` (filter ``url``, ``page``,
``per_page``), ``POST /api/v2/monitors`` and ``PATCH /api/v2/monitors/{id}``.

Better Stack publishes no OpenAPI description, so nothing here is checked against one: the
shapes follow its documentation (betterstack.com/docs/uptime/api/): JSON:API ``data`` items
``{"id", "type": "monitor", "attributes"}``, a ``pagination`` object of absolute URLs (50 a
page by default, ``next`` null on the last), errors as ``{"errors": "..."}``. The body of a
422 (validation) answer is not shown there; ``{"errors": {"field": ["why"]}}`` is a guess.
"""

from __future__ import annotations

import itertools
from typing import Any
from urllib.parse import urlencode

from tests.fakes.base import FakeService, Reply, Request


class FakeBetterStack(FakeService):
    def __init__(self, token: str) -> None:
        super().__init__()
        self.token = token
        self.monitors: list[dict[str, Any]] = []
        self._ids = itertools.count(2_038_411)
        self.route("GET", "/api/v2/monitors")(self._list)
        self.route("POST", "/api/v2/monitors")(self._create)
        self.route("PATCH", "/api/v2/monitors/{id}")(self._update)

    def __enter__(self) -> FakeBetterStack:
        self.start()
        return self

    def _auth(self, req: Request) -> Reply | None:
        if req.bearer != self.token:
            return Reply(
                401,
                {
                    "errors": "Invalid Team API token. How to find your Team API "
                    "token: https://betterstack.com/docs/uptime/api/"
                },
            )
        return None

    def _list(self, req: Request) -> Reply:
        if (denied := self._auth(req)) is not None:
            return denied
        url = req.arg("url")
        found = [m for m in self.monitors if not url or url in m["attributes"]["url"]]
        per_page = min(int(req.arg("per_page") or 50), 250)
        page = max(int(req.arg("page") or 1), 1)
        last = max((len(found) + per_page - 1) // per_page, 1)

        def link(n: int) -> str:
            query = {"page": str(n), "per_page": str(per_page), **({"url": url} if url else {})}
            return f"{self.url}/api/v2/monitors?{urlencode(query)}"

        pagination = {
            "first": link(1),
            "last": link(last),
            "prev": link(page - 1) if page > 1 else None,
            "next": link(page + 1) if page < last else None,
        }
        items = found[(page - 1) * per_page : page * per_page]
        return Reply(200, {"data": items, "pagination": pagination})

    def _create(self, req: Request) -> Reply:
        if (denied := self._auth(req)) is not None:
            return denied
        body = req.json() or {}
        if not body.get("url"):
            return Reply(422, {"errors": {"url": ["can't be blank"]}})
        if (refused := _check_type(body)) is not None:
            return refused
        monitor = {
            "id": str(next(self._ids)),
            "type": "monitor",
            "attributes": {
                "url": body["url"],
                "pronounceable_name": body.get("pronounceable_name") or body["url"],
                "monitor_type": body.get("monitor_type", "status"),
                "required_keyword": body.get("required_keyword"),
                "check_frequency": int(body.get("check_frequency", 180)),
                "email": bool(body.get("email", True)),
                "sms": False,
                "call": False,
                "push": False,
                "status": "pending",
                "paused": False,
                "created_at": "2026-11-30T03:00:00.000Z",
                "updated_at": "2026-11-30T03:00:00.000Z",
            },
            "relationships": {"policy": {"data": None}},
        }
        self.monitors.append(monitor)
        return Reply(201, {"data": monitor})

    def _update(self, req: Request) -> Reply:
        if (denied := self._auth(req)) is not None:
            return denied
        monitor = next((m for m in self.monitors if m["id"] == req.params["id"]), None)
        if monitor is None:
            return Reply(404, {"errors": "Resource with provided ID was not found"})
        body = req.json() or {}
        if (refused := _check_type({**monitor["attributes"], **body})) is not None:
            return refused
        monitor["attributes"].update({k: v for k, v in body.items() if k in _UPDATABLE})
        monitor["attributes"]["updated_at"] = "2026-11-30T03:30:00.000Z"
        return Reply(200, {"data": monitor})


# Better Stack's monitor types; "keyword" and "keyword_absence" need required_keyword,
# "expected_status_code" its list (terraform-provider-better-uptime resource_monitor.go).
_TYPES = {
    "status", "expected_status_code", "keyword", "keyword_absence", "ping", "tcp", "udp",
    "smtp", "pop", "imap", "dns", "playwright",
}  # fmt: skip
_UPDATABLE = {
    "url", "pronounceable_name", "monitor_type", "check_frequency", "email", "sms", "call",
    "push", "required_keyword", "paused",
}  # fmt: skip


def _check_type(body: dict[str, Any]) -> Reply | None:
    kind = body.get("monitor_type", "status")
    if kind not in _TYPES:
        return Reply(422, {"errors": {"monitor_type": ["is not included in the list"]}})
    if kind in ("keyword", "keyword_absence") and not body.get("required_keyword"):
        return Reply(422, {"errors": {"required_keyword": ["can't be blank"]}})
    return None
