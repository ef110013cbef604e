"""A fake Snyk REST API: ``GET /rest/self?version=…`` with ``Authorization: token …``.

No OpenAPI description of Snyk is kept in tests/api-specs/, so this stand-in is not checked
against one; its shapes follow Snyk's "Authentication for API" page and the JSON:API error
document (``{"jsonapi": …, "errors": [{"status", "detail"}]}``).
"""

from __future__ import annotations

from tests.fakes.base import FakeService, Reply, Request

JSONAPI = {"version": "1.0"}


def _error(status: int, title: str, detail: str) -> Reply:
    return Reply(
        status,
        {"jsonapi": JSONAPI, "errors": [{"status": str(status), "title": title, "detail": detail}]},
    )


class FakeSnyk(FakeService):
    def __init__(self, token: str, username: str = "dream-pixel-ci") -> None:
        super().__init__()
        self.token = token
        self.username = username
        self.route("GET", "/rest/self")(self._self)

    def __enter__(self) -> FakeSnyk:
        self.start()
        return self

    def _self(self, req: Request) -> Reply:
        if not req.arg("version"):
            return _error(400, "Bad Request", "the version query parameter is required")
        auth = req.headers.get("authorization") or ""
        scheme, _, token = auth.partition(" ")
        if scheme.lower() != "token" or token != self.token:
            return _error(401, "Unauthorized", "the token is not valid")
        body = {
            "jsonapi": JSONAPI,
            "data": {
                "type": "user",
                "id": "4a4c2a2f-5d1c-4e49-9f6b-0b7a2d3b0c11",
                "attributes": {"name": "Dream Pixel CI", "username": self.username},
            },
        }
        return Reply(200, body)
