"""A fake Resend API: ``GET /domains`` and ``GET /domains/{id}``.

Errors are ``{"statusCode", "name", "message"}``; a sending-only key answers 401
``restricted_api_key`` here, an unknown key 403 ``invalid_api_key``.
"""

from __future__ import annotations

import secrets
from typing import Any

from tests.fakes.base import FakeService, Reply, Request


def resend_error(status: int, name: str, message: str) -> Reply:
    return Reply(status, {"statusCode": status, "name": name, "message": message})


class FakeResend(FakeService):
    spec = "resend"  # tests/api-specs/resend.json.gz

    def __init__(self, full_key: str, *, sending_key: str | None = None) -> None:
        super().__init__()
        self.full_key = full_key
        self.sending_key = sending_key
        self.domains: dict[str, dict[str, Any]] = {}
        self.route("GET", "/domains")(self._list)
        self.route("GET", "/domains/{id}")(self._get)

    def __enter__(self) -> FakeResend:  # typed for the subclass's own helpers
        self.start()
        return self

    def add_domain(self, name: str, status: str = "verified") -> str:
        domain_id = secrets.token_hex(8) + "-" + secrets.token_hex(4)
        record_status = "verified" if status == "verified" else "not_started"
        self.domains[domain_id] = {
            "object": "domain",
            "id": domain_id,
            "name": name,
            "status": status,
            "created_at": "2024-01-01 00:00:00.000000+00",
            "region": "us-east-1",
            "records": [
                {
                    "record": "SPF",
                    "name": "send",
                    "type": "MX",
                    "ttl": "Auto",
                    "status": record_status,
                    "value": "feedback-smtp.us-east-1.amazonses.com",
                    "priority": 10,
                },
                {
                    "record": "SPF",
                    "name": "send",
                    "type": "TXT",
                    "ttl": "Auto",
                    "status": record_status,
                    "value": '"v=spf1 include:amazonses.com ~all"',
                },
                {
                    "record": "DKIM",
                    "name": "resend._domainkey",
                    "type": "TXT",
                    "ttl": "Auto",
                    "status": "verified",
                    "value": "p=MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQDf",
                },
            ],
        }
        return domain_id

    def _auth(self, req: Request) -> Reply | None:
        key = req.bearer
        if not key:
            return resend_error(
                401, "missing_api_key", "Missing API key in the authorization header."
            )
        if self.sending_key and key == self.sending_key:
            return resend_error(
                401, "restricted_api_key", "This API key is restricted to only send emails."
            )
        if key != self.full_key:
            return resend_error(403, "invalid_api_key", "API key is invalid")
        return None

    def _list(self, req: Request) -> Reply:
        if (denied := self._auth(req)) is not None:
            return denied
        data = [
            {k: v for k, v in d.items() if k not in ("records", "object")}
            for d in self.domains.values()
        ]
        return self.fill(req, Reply(200, {"object": "list", "has_more": False, "data": data}))

    def _get(self, req: Request) -> Reply:
        if (denied := self._auth(req)) is not None:
            return denied
        d = self.domains.get(req.params["id"])
        if d is None:
            return resend_error(404, "not_found", "Domain not found")
        return self.fill(req, Reply(200, d))
