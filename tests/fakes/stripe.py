"""A fake Stripe API: /v1/account and /v1/webhook_endpoints, speaking Stripe's protocol.

Form-encoded bodies (``enabled_events[]=a`` or ``enabled_events[0]=a``), Stripe's error JSON
``{"error": {"type", "message", "code"}}``, list pagination with ``limit`` and
``starting_after``, and Idempotency-Key replay with ``Idempotent-Replayed: true``.
"""

from __future__ import annotations

import re
import secrets
from typing import Any

from tests.fakes.base import FakeService, Reply, Request

KNOWN_EVENTS = frozenset(
    {
        "*",
        "payment_intent.succeeded",
        "charge.failed",
        "invoice.paid",
        *(
            f"customer.subscription.{e}"
            for e in (
                "created",
                "updated",
                "deleted",
                "paused",
                "resumed",
                "trial_will_end",
                "pending_update_applied",
                "pending_update_expired",
            )
        ),
    }
)


def stripe_error(
    status: int, message: str, *, type_: str = "invalid_request_error", code: str = ""
) -> Reply:
    err: dict[str, Any] = {"type": type_, "message": message}
    if code:
        err["code"] = code
    return Reply(status, {"error": err}, {"Request-Id": "req_" + secrets.token_hex(6)})


def form_list(form: dict[str, list[str]], name: str) -> list[str] | None:
    """Stripe accepts ``name[]=a&name[]=b`` and ``name[0]=a&name[1]=b``."""
    if f"{name}[]" in form:
        return form[f"{name}[]"]
    indexed = sorted(
        (int(m.group(1)), v[0])
        for k, v in form.items()
        if (m := re.fullmatch(re.escape(name) + r"\[(\d+)\]", k))
    )
    return [v for _, v in indexed] if indexed else None


class FakeStripe(FakeService):
    spec = "stripe"  # tests/api-specs/stripe.json.gz

    def __init__(
        self, secret_key: str, *, account_id: str = "acct_1Fake", page_cap: int = 100
    ) -> None:
        super().__init__()
        self.secret_key = secret_key
        self.account_id = account_id
        self.page_cap = page_cap  # the largest page the fake serves, to exercise pagination
        self.endpoints: dict[str, dict[str, Any]] = {}  # insertion order = creation order
        self.idempotency: dict[str, tuple[int, dict[str, Any]]] = {}
        self.restricted_account = False  # an rk_ key without account read permission
        self.route("GET", "/v1/account")(self._account)
        self.route("GET", "/v1/webhook_endpoints")(self._list)
        self.route("POST", "/v1/webhook_endpoints")(self._create)
        self.route("GET", "/v1/webhook_endpoints/{id}")(self._get)
        self.route("POST", "/v1/webhook_endpoints/{id}")(self._update)
        self.route("DELETE", "/v1/webhook_endpoints/{id}")(self._delete)

    def __enter__(self) -> FakeStripe:  # typed for the subclass's own helpers
        self.start()
        return self

    # -- helpers ---------------------------------------------------------------
    @property
    def livemode(self) -> bool:
        return "_live_" in self.secret_key[:8]

    def add_endpoint(
        self, url: str, events: list[str], *, status: str = "enabled"
    ) -> dict[str, Any]:
        """An endpoint made earlier (say in the Dashboard): its secret is not returned here."""
        ep = self._new_endpoint(url, events)
        ep["status"] = status
        return {k: v for k, v in ep.items() if k != "secret"}

    def _new_endpoint(self, url: str, events: list[str], description: str = "") -> dict[str, Any]:
        ep_id = "we_" + secrets.token_hex(12)
        ep: dict[str, Any] = {
            "id": ep_id,
            "object": "webhook_endpoint",
            "api_version": None,
            "application": None,
            "created": 1700000000 + len(self.endpoints),
            "description": description or None,
            "enabled_events": list(events),
            "livemode": self.livemode,
            "metadata": {},
            "status": "enabled",
            "url": url,
            "secret": "whsec_" + secrets.token_hex(16),
        }
        self.endpoints[ep_id] = ep
        return ep

    @staticmethod
    def _public(ep: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in ep.items() if k != "secret"}

    def _auth(self, req: Request) -> Reply | None:
        if req.bearer is None:
            return stripe_error(
                401,
                "You did not provide an API key. You need to provide your API key in the "
                "Authorization header, using Bearer auth.",
            )
        if req.bearer != self.secret_key:
            masked = req.bearer[:8] + "*" * max(len(req.bearer) - 12, 0) + req.bearer[-4:]
            return stripe_error(401, f"Invalid API Key provided: {masked}")
        return None

    # -- routes ----------------------------------------------------------------
    def _account(self, req: Request) -> Reply:
        if (denied := self._auth(req)) is not None:
            return denied
        if self.restricted_account:
            return stripe_error(
                403,
                f"The provided key '{self.secret_key[:8]}***' does not have the required "
                "permissions for this endpoint on account 'acct_1Fake'.",
                type_="invalid_request_error",
            )
        reply = Reply(
            200,
            {
                "id": self.account_id,
                "object": "account",
                "country": "US",
                "charges_enabled": True,
                "business_profile": {"name": "Dream Pixel"},
                "settings": {"dashboard": {"display_name": "Dream Pixel"}},
            },
        )
        return self.fill(req, reply)

    def _list(self, req: Request) -> Reply:
        if (denied := self._auth(req)) is not None:
            return denied
        limit = min(int(req.arg("limit") or 10), self.page_cap)
        items = list(self.endpoints.values())[::-1]  # newest first, like Stripe
        after = req.arg("starting_after")
        if after:
            ids = [e["id"] for e in items]
            if after not in ids:
                return stripe_error(
                    400, f"No such webhook endpoint: '{after}'", code="resource_missing"
                )
            items = items[ids.index(after) + 1 :]
        page = items[:limit]
        return Reply(
            200,
            {
                "object": "list",
                "url": "/v1/webhook_endpoints",
                "has_more": len(items) > limit,
                "data": [self._public(e) for e in page],
            },
        )

    def _create(self, req: Request) -> Reply:
        if (denied := self._auth(req)) is not None:
            return denied
        if req.headers.get("content-type", "").split(";")[0] != "application/x-www-form-urlencoded":
            return stripe_error(400, "Invalid request: the body must be form-encoded")
        form = req.form()
        key = req.headers.get("idempotency-key")
        if key is not None:
            if len(key) > 255:
                return stripe_error(400, "Idempotency keys may be at most 255 characters")
            if key in self.idempotency:
                status, body = self.idempotency[key]
                return Reply(status, body, {"Idempotent-Replayed": "true", "Idempotency-Key": key})
        url = (form.get("url") or [""])[0]
        events = form_list(form, "enabled_events")
        if not url:
            return stripe_error(400, "Missing required param: url.", code="parameter_missing")
        if not events:
            return stripe_error(
                400, "Missing required param: enabled_events.", code="parameter_missing"
            )
        bad = [e for e in events if e not in KNOWN_EVENTS]
        if bad:
            return stripe_error(
                400,
                f"Invalid enabled_events[0]: must be one of ... ({bad[0]} is not a valid event)",
                code="parameter_invalid_string",
            )
        ep = self._new_endpoint(url, events, (form.get("description") or [""])[0])
        if key is not None:
            self.idempotency[key] = (200, dict(ep))
        return Reply(200, dict(ep), {"Idempotency-Key": key} if key else {})

    def _get(self, req: Request) -> Reply:
        if (denied := self._auth(req)) is not None:
            return denied
        ep = self.endpoints.get(req.params["id"])
        if ep is None:
            return stripe_error(
                404, f"No such webhook endpoint: '{req.params['id']}'", code="resource_missing"
            )
        return Reply(200, self._public(ep))

    def _update(self, req: Request) -> Reply:
        if (denied := self._auth(req)) is not None:
            return denied
        ep = self.endpoints.get(req.params["id"])
        if ep is None:
            return stripe_error(
                404, f"No such webhook endpoint: '{req.params['id']}'", code="resource_missing"
            )
        form = req.form()
        events = form_list(form, "enabled_events")
        if events is not None:
            ep["enabled_events"] = events
        if "disabled" in form:
            ep["status"] = "disabled" if form["disabled"][0] == "true" else "enabled"
        return Reply(200, self._public(ep))

    def _delete(self, req: Request) -> Reply:
        if (denied := self._auth(req)) is not None:
            return denied
        ep = self.endpoints.pop(req.params["id"], None)
        if ep is None:
            return stripe_error(
                404, f"No such webhook endpoint: '{req.params['id']}'", code="resource_missing"
            )
        return Reply(200, {"id": ep["id"], "object": "webhook_endpoint", "deleted": True})
