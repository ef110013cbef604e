"""A fake Better Stack Uptime API (v2): ``GET /api/v2/monitors`` (filter ``url``) and
``POST /api/v2/monitors``.

Better Stack publishes no OpenAPI description, so nothing here is checked against one: the
shapes follow its documentation (JSON:API ``data`` items with ``attributes``, a
``pagination`` object, errors as ``{"errors": "..."}``).
"""

from __future__ import annotations

import itertools
from typing import Any

from tests.fakes.base import FakeService, Reply, Request


class FakeBetterStack(FakeService):
    def __init__(self, token: str) -> None:
        super().__init__()
        self.token = token
        self.monitors: list[dict[str, Any]] = []
        self._ids = itertools.count(2_038_411)
        self.route("GET", "/api/v2/monitors")(self._list)
        self.route("POST", "/api/v2/monitors")(self._create)

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
        page = {
            "first": f"{self.url}/api/v2/monitors?page=1",
            "last": None,
            "prev": None,
            "next": None,
        }
        return Reply(200, {"data": found, "pagination": page})

    def _create(self, req: Request) -> Reply:
        if (denied := self._auth(req)) is not None:
            return denied
        body = req.json() or {}
        if not body.get("url"):
            return Reply(422, {"errors": {"url": ["can't be blank"]}})
        monitor = {
            "id": str(next(self._ids)),
            "type": "monitor",
            "attributes": {
                "url": body["url"],
                "pronounceable_name": body.get("pronounceable_name") or body["url"],
                "monitor_type": body.get("monitor_type", "status"),
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
