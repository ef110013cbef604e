"""Cloudflare's v4 API: token check, zone lookup, zone settings, phase entrypoint rulesets.

Every answer is an envelope ``{"success", "errors": [{"code", "message"}], "messages",
"result"}``. Rulesets: ``PUT .../rulesets/phases/{phase}/entrypoint`` replaces the whole
rule list (and creates the entrypoint when there is none), so callers read first and put
back every rule they did not mean to change (``upsert_rule``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from providers.errors import AuthError, BadRequest, NotFound, PermissionDenied, ProviderError
from providers.http import BearerApi

SERVICE = "Cloudflare"
TOKEN_KEY = "CLOUDFLARE_API_TOKEN"
DEFAULT_URL = "https://api.cloudflare.com/client/v4"

CACHE_PHASE = "http_request_cache_settings"
CUSTOM_WAF_PHASE = "http_request_firewall_custom"

# Fields the API sets itself; sending them back in a PUT is refused or ignored.
READ_ONLY_RULE_FIELDS = frozenset({"version", "last_updated", "categories"})
# What Cloudflare says (with a 400) when the Authorization header holds no valid token.
BAD_TOKEN_MESSAGES = ("invalid request headers", "invalid api token", "invalid format for")


@dataclass(frozen=True)
class TokenStatus:
    id: str
    status: str  # "active", "disabled", "expired"


@dataclass(frozen=True)
class Zone:
    id: str
    name: str
    status: str  # "active", "pending" (nameservers not switched yet), ...
    plan: str  # legacy id: "free", "pro", "business", "enterprise"
    name_servers: tuple[str, ...] = ()


@dataclass(frozen=True)
class ZoneSetting:
    id: str
    value: Any
    editable: bool = True


@dataclass(frozen=True)
class Rule:
    """One ruleset rule. ``raw`` keeps every field the API sent, so rules we do not own
    go back unchanged."""

    action: str
    expression: str
    description: str = ""
    ref: str = ""
    id: str = ""
    enabled: bool = True
    action_parameters: dict[str, Any] = field(default_factory=dict)
    raw: dict[str, Any] = field(default_factory=dict, compare=False)

    @classmethod
    def from_api(cls, data: dict[str, Any]) -> Rule:
        return cls(
            action=str(data.get("action", "")),
            expression=str(data.get("expression", "")),
            description=str(data.get("description") or ""),
            ref=str(data.get("ref") or ""),
            id=str(data.get("id") or ""),
            enabled=bool(data.get("enabled", True)),
            action_parameters=dict(data.get("action_parameters") or {}),
            raw=dict(data),
        )

    def payload(self) -> dict[str, Any]:
        """The rule as a PUT body item: everything we were given minus read-only fields."""
        out = {k: v for k, v in self.raw.items() if k not in READ_ONLY_RULE_FIELDS}
        out.update(
            {
                "action": self.action,
                "expression": self.expression,
                "description": self.description,
                "enabled": self.enabled,
            }
        )
        if self.ref:
            out["ref"] = self.ref
        if self.id:
            out["id"] = self.id
        if self.action_parameters:
            out["action_parameters"] = self.action_parameters
        else:
            out.pop("action_parameters", None)
        return out

    def satisfies(self, wanted: Rule) -> bool:
        """This (existing) rule already does what ``wanted`` asks. Parameters are compared
        as a subset: Cloudflare may echo defaults we did not send."""
        return (
            self.action == wanted.action
            and " ".join(self.expression.split()) == " ".join(wanted.expression.split())
            and self.enabled == wanted.enabled
            and _contains(self.action_parameters, wanted.action_parameters)
        )


def _contains(have: Any, want: Any) -> bool:
    if isinstance(want, dict):
        return isinstance(have, dict) and all(
            k in have and _contains(have[k], v) for k, v in want.items()
        )
    return bool(have == want)


@dataclass(frozen=True)
class Ruleset:
    id: str | None  # None: the phase has no entrypoint yet
    phase: str
    rules: tuple[Rule, ...] = ()


def upsert_rule(rules: Sequence[Rule], wanted: Rule) -> tuple[list[Rule], str]:
    """Put ``wanted`` into ``rules``, matched by ref, else by description.

    Returns the full new list and "create", "update" or "unchanged". Every other rule
    keeps its place and content; a matched rule keeps its id and position.
    """
    out = list(rules)
    for i, rule in enumerate(out):
        if (wanted.ref and rule.ref == wanted.ref) or (
            wanted.description and rule.description == wanted.description
        ):
            if rule.satisfies(wanted) and rule.ref == wanted.ref:
                return out, "unchanged"
            out[i] = Rule(
                action=wanted.action,
                expression=wanted.expression,
                description=wanted.description,
                ref=wanted.ref,
                id=rule.id,
                enabled=wanted.enabled,
                action_parameters=wanted.action_parameters,
                raw={k: v for k, v in rule.raw.items() if k in ("id", "logging")},
            )
            return out, "update"
    out.append(wanted)
    return out, "create"


class CloudflareClient(BearerApi):
    SERVICE = SERVICE
    URL_VARIABLE = "CLOUDFLARE_API_URL"
    DEFAULT_URL = DEFAULT_URL

    def __init__(self, token: str, **kwargs: Any) -> None:
        # Cloudflare allows 1,200 requests per 5 minutes per token; stay gentle.
        kwargs.setdefault("max_connections", 4)
        super().__init__(token, **kwargs)

    async def _call(
        self,
        method: str,
        path: str,
        *,
        hint: str = "",
        ok: Sequence[int] = (),
        **kwargs: Any,
    ) -> tuple[int, Any]:
        """One call, its envelope unwrapped. ``hint`` is what to do on a 403 (a missing
        permission); other failures keep the shared hints."""
        try:
            response = await self._http.request(method, path, key=TOKEN_KEY, ok=ok, **kwargs)
        except BadRequest as err:
            if any(m in err.message.lower() for m in BAD_TOKEN_MESSAGES):
                raise AuthError(
                    SERVICE,
                    err.message,
                    key=TOKEN_KEY,
                    hint="the token is malformed: copy it again from My Profile → API Tokens",
                    status=err.status,
                ) from None
            raise
        except AuthError as err:
            raise AuthError(
                SERVICE,
                err.message,
                key=TOKEN_KEY,
                hint="check CLOUDFLARE_API_TOKEN, or create a token at My Profile → API Tokens",
                status=err.status,
            ) from None
        except PermissionDenied as err:
            raise PermissionDenied(
                SERVICE, err.message, key=TOKEN_KEY, hint=hint or err.hint, status=err.status
            ) from None
        try:
            body = response.json()
        except ValueError:
            body = None
        if response.status_code in ok:
            return response.status_code, body
        if not isinstance(body, dict) or body.get("success") is False:
            message = _first_error(body) or "the answer was not a Cloudflare API envelope"
            raise ProviderError(SERVICE, message, key=TOKEN_KEY, hint=hint)
        return response.status_code, body.get("result")

    # -- token and zones -------------------------------------------------------
    async def verify_token(self, account_id: str | None = None) -> TokenStatus:
        """User tokens verify at /user/tokens/verify; account-owned ones at the account."""
        hint = "the token cannot verify itself: create a new one at My Profile → API Tokens"
        try:
            _, result = await self._call("GET", "/user/tokens/verify", hint=hint)
        except AuthError as first:
            if not account_id:
                raise
            try:
                _, result = await self._call(
                    "GET", f"/accounts/{quote(account_id, safe='')}/tokens/verify", hint=hint
                )
            except ProviderError:
                raise first from None
        status = TokenStatus(id=str(result.get("id", "")), status=str(result.get("status", "")))
        if status.status != "active":
            raise AuthError(
                SERVICE,
                f"the API token is {status.status or 'not active'}",
                key=TOKEN_KEY,
                hint="re-enable it or create a new one at My Profile → API Tokens",
            )
        return status

    async def find_zone(self, name: str) -> Zone | None:
        _, result = await self._call(
            "GET",
            "/zones",
            params={"name": name},
            hint="the token needs Zone:Read on this zone",
        )
        for item in result or []:
            if str(item.get("name", "")).lower() == name.lower():
                return _zone(item)
        return None

    # -- settings --------------------------------------------------------------
    async def get_setting(self, zone_id: str, name: str) -> ZoneSetting:
        _, result = await self._call(
            "GET",
            f"/zones/{zone_id}/settings/{name}",
            hint="the token needs Zone Settings:Read",
        )
        return ZoneSetting(
            id=str(result.get("id", name)),
            value=result.get("value"),
            editable=bool(result.get("editable", True)),
        )

    async def set_setting(self, zone_id: str, name: str, value: Any) -> ZoneSetting:
        _, result = await self._call(
            "PATCH",
            f"/zones/{zone_id}/settings/{name}",
            json={"value": value},
            hint="the token needs Zone Settings:Edit",
        )
        return ZoneSetting(
            id=str(result.get("id", name)),
            value=result.get("value"),
            editable=bool(result.get("editable", True)),
        )

    # -- rulesets ----------------------------------------------------------------
    async def get_entrypoint(self, zone_id: str, phase: str) -> Ruleset:
        status, result = await self._call(
            "GET",
            f"/zones/{zone_id}/rulesets/phases/{phase}/entrypoint",
            ok=(404,),
            hint=_ruleset_hint(phase, "Read"),
        )
        if status == 404:
            return Ruleset(id=None, phase=phase)
        return _ruleset(result, phase)

    async def put_entrypoint(self, zone_id: str, phase: str, rules: Sequence[Rule]) -> Ruleset:
        """Replace the phase's rules with ``rules`` (creating the entrypoint if needed)."""
        try:
            _, result = await self._call(
                "PUT",
                f"/zones/{zone_id}/rulesets/phases/{phase}/entrypoint",
                json={"rules": [r.payload() for r in rules]},
                hint=_ruleset_hint(phase, "Edit"),
            )
        except BadRequest as err:
            raise BadRequest(
                SERVICE,
                err.message,
                key=err.key,
                hint="the zone's plan may allow no more rules in this phase: free a slot in the "
                "dashboard and run again",
                status=err.status,
            ) from None
        return _ruleset(result, phase)


def _ruleset_hint(phase: str, verb: str) -> str:
    what = "Cache Rules" if phase == CACHE_PHASE else "Zone WAF"
    return f"the token needs {what}:{verb}"


def _zone(item: dict[str, Any]) -> Zone:
    plan = item.get("plan") or {}
    return Zone(
        id=str(item["id"]),
        name=str(item.get("name", "")),
        status=str(item.get("status", "")),
        plan=str(plan.get("legacy_id") or plan.get("name") or "unknown").lower(),
        name_servers=tuple(str(n) for n in item.get("name_servers") or ()),
    )


def _ruleset(result: Any, phase: str) -> Ruleset:
    if not isinstance(result, dict):
        raise NotFound(SERVICE, f"no {phase} ruleset in the answer", key=TOKEN_KEY)
    return Ruleset(
        id=str(result.get("id") or "") or None,
        phase=str(result.get("phase") or phase),
        rules=tuple(Rule.from_api(r) for r in result.get("rules") or ()),
    )


def _first_error(body: Any) -> str:
    if isinstance(body, dict):
        for e in body.get("errors") or ():
            if isinstance(e, dict) and e.get("message"):
                return f"{e.get('code', '')} {e['message']}".strip()[:300]
    return ""
