"""A fake Cloudflare v4 API: token verify, zones, zone settings, phase entrypoints.

Every answer is Cloudflare's envelope ``{"success", "errors", "messages", "result"}``.
A PUT to a phase entrypoint replaces all its rules (and creates it), like the real one;
rules the caller sends without an id get a new one, and ``version`` / ``last_updated``
are the server's.
"""

from __future__ import annotations

import secrets
from typing import Any

from tests.fakes.base import FakeService, Reply, Request

SETTING_DEFAULTS: dict[str, Any] = {
    "ssl": "flexible",
    "brotli": "off",
    "always_use_https": "off",
    "cache_level": "aggressive",
}
VALID_SETTING_VALUES: dict[str, set[str]] = {
    "ssl": {"off", "flexible", "full", "strict"},
    "brotli": {"on", "off"},
    "always_use_https": {"on", "off"},
    "cache_level": {"aggressive", "basic", "simplified"},
}


def envelope(result: Any, status: int = 200) -> Reply:
    return Reply(status, {"success": True, "errors": [], "messages": [], "result": result})


def cf_error(status: int, code: int, message: str) -> Reply:
    return Reply(
        status,
        {
            "success": False,
            "errors": [{"code": code, "message": message}],
            "messages": [],
            "result": None,
        },
    )


class FakeCloudflare(FakeService):
    spec = "cloudflare"  # tests/api-specs/cloudflare.json.gz

    def __init__(self, token: str) -> None:
        super().__init__()
        self.token = token
        self.token_status = "active"
        self.read_only = False  # a token without the Edit permissions
        self.max_custom_rules = 5  # the Free plan's limit
        self.zones: dict[str, dict[str, Any]] = {}
        self.settings: dict[str, dict[str, Any]] = {}  # zone id -> name -> value
        self.not_editable: set[str] = set()
        self.rulesets: dict[tuple[str, str], dict[str, Any]] = {}  # (zone id, phase)
        self.route("GET", "/user/tokens/verify")(self._verify)
        self.route("GET", "/zones")(self._zones)
        self.route("GET", "/zones/{zone}/settings/{name}")(self._get_setting)
        self.route("PATCH", "/zones/{zone}/settings/{name}")(self._patch_setting)
        self.route("GET", "/zones/{zone}/rulesets/phases/{phase}/entrypoint")(self._get_entry)
        self.route("PUT", "/zones/{zone}/rulesets/phases/{phase}/entrypoint")(self._put_entry)
        # DNS records: zone id -> record id -> record.
        self.dns: dict[str, dict[str, dict[str, Any]]] = {}
        self.route("GET", "/zones/{zone}/dns_records")(self._list_dns)
        self.route("POST", "/zones/{zone}/dns_records")(self._create_dns)
        self.route("PATCH", "/zones/{zone}/dns_records/{record}")(self._edit_dns)
        self.route("DELETE", "/zones/{zone}/dns_records/{record}")(self._delete_dns)

    def __enter__(self) -> FakeCloudflare:  # typed for the subclass's own helpers
        self.start()
        return self

    # -- setup -------------------------------------------------------------------
    def add_zone(self, name: str, *, plan: str = "free", status: str = "active") -> str:
        zone_id = secrets.token_hex(16)
        self.zones[zone_id] = {
            "id": zone_id,
            "name": name,
            "status": status,
            "paused": False,
            "type": "full",
            "name_servers": ["ada.ns.cloudflare.com", "bob.ns.cloudflare.com"],
            "plan": {
                "id": secrets.token_hex(8),
                "name": f"{plan.title()} Website",
                "legacy_id": plan,
            },
        }
        self.settings[zone_id] = dict(SETTING_DEFAULTS)
        return zone_id

    def add_rules(self, zone_id: str, phase: str, rules: list[dict[str, Any]]) -> None:
        self.rulesets[(zone_id, phase)] = {
            "id": secrets.token_hex(16),
            "name": "default",
            "kind": "zone",
            "phase": phase,
            "version": "1",
            "rules": [self._stored_rule(r, "1") for r in rules],
        }

    def rules(self, zone_id: str, phase: str) -> list[dict[str, Any]]:
        rs = self.rulesets.get((zone_id, phase))
        return list(rs["rules"]) if rs else []

    @staticmethod
    def _stored_rule(rule: dict[str, Any], version: str) -> dict[str, Any]:
        out = dict(rule)
        out.setdefault("id", secrets.token_hex(16))
        out.setdefault("enabled", True)
        out["version"] = version
        out["last_updated"] = "2024-01-01T00:00:00Z"
        if out.get("ref") in (None, ""):
            out["ref"] = out["id"]
        return out

    def add_record(
        self, zone_id: str, type: str, name: str, content: str, *, proxied: bool = False
    ) -> str:
        record_id = secrets.token_hex(16)
        self.dns.setdefault(zone_id, {})[record_id] = self._record(
            record_id, zone_id, {"type": type, "name": name, "content": content, "proxied": proxied}
        )
        return record_id

    def records(self, zone_id: str) -> list[dict[str, Any]]:
        return sorted(self.dns.get(zone_id, {}).values(), key=lambda r: (r["name"], r["type"]))

    def _record(self, record_id: str, zone_id: str, body: dict[str, Any]) -> dict[str, Any]:
        kind = str(body.get("type", "")).upper()
        return {
            "id": record_id,
            "zone_id": zone_id,
            "zone_name": self.zones[zone_id]["name"],
            "type": kind,
            "name": str(body.get("name", "")).lower(),
            "content": str(body.get("content", "")),
            "proxiable": kind in ("A", "AAAA", "CNAME"),
            "proxied": bool(body.get("proxied", False)) and kind in ("A", "AAAA", "CNAME"),
            "ttl": int(body.get("ttl", 1)),
            "settings": {},
            "meta": {},
            "comment": None,
            "tags": [],
            "created_on": "2024-01-01T00:00:00Z",
            "modified_on": "2024-01-01T00:00:00Z",
            **({"priority": int(body.get("priority", 10))} if kind == "MX" else {}),
        }

    # -- auth --------------------------------------------------------------------
    def _auth(self, req: Request) -> Reply | None:
        auth = req.headers.get("authorization", "")
        if not auth.startswith("Bearer ") or not auth[7:] or " " in auth[7:]:
            return Reply(
                400,
                {
                    "success": False,
                    "errors": [
                        {
                            "code": 6003,
                            "message": "Invalid request headers",
                            "error_chain": [
                                {"code": 6111, "message": "Invalid format for Authorization header"}
                            ],
                        }
                    ],
                    "messages": [],
                    "result": None,
                },
            )
        if req.bearer != self.token:
            return cf_error(401, 1000, "Invalid API Token")
        return None

    def _write_denied(self) -> Reply | None:
        if self.read_only:
            return cf_error(403, 10000, "Authentication error")
        return None

    def _zone(self, req: Request) -> dict[str, Any] | None:
        return self.zones.get(req.params["zone"])

    # -- routes ------------------------------------------------------------------
    def _verify(self, req: Request) -> Reply:
        if (denied := self._auth(req)) is not None:
            return denied
        return self.fill(
            req, envelope({"id": "tok_" + self.token[-4:], "status": self.token_status})
        )

    def _zones(self, req: Request) -> Reply:
        if (denied := self._auth(req)) is not None:
            return denied
        name = req.arg("name")
        found = [z for z in self.zones.values() if name is None or z["name"] == name]
        reply = self.fill(req, envelope(found))
        reply.body["result_info"] = {
            "page": 1,
            "per_page": 20,
            "count": len(found),
            "total_count": len(found),
        }
        return reply

    def _get_setting(self, req: Request) -> Reply:
        if (denied := self._auth(req)) is not None:
            return denied
        zone = self._zone(req)
        name = req.params["name"]
        if zone is None:
            return cf_error(404, 1001, "Invalid zone identifier")
        if name not in VALID_SETTING_VALUES:
            return cf_error(404, 1003, "Invalid or missing zone setting")
        return self.fill(
            req,
            envelope(
                {
                    "id": name,
                    "value": self.settings[zone["id"]][name],
                    "editable": name not in self.not_editable,
                    "modified_on": None,
                }
            ),
        )

    def _patch_setting(self, req: Request) -> Reply:
        if (denied := self._auth(req)) is not None:
            return denied
        if (denied := self._write_denied()) is not None:
            return denied
        zone = self._zone(req)
        name = req.params["name"]
        if zone is None:
            return cf_error(404, 1001, "Invalid zone identifier")
        if name in self.not_editable:
            return cf_error(400, 1011, f"Setting {name} is not editable on this plan")
        body = req.json()
        value = body.get("value") if isinstance(body, dict) else None
        if value not in VALID_SETTING_VALUES.get(name, set()):
            return cf_error(400, 1007, f"Invalid value for zone setting {name}")
        self.settings[zone["id"]][name] = value
        return self.fill(
            req,
            envelope(
                {
                    "id": name,
                    "value": value,
                    "editable": True,
                    "modified_on": "2024-01-01T00:00:00Z",
                }
            ),
        )

    def _get_entry(self, req: Request) -> Reply:
        if (denied := self._auth(req)) is not None:
            return denied
        zone = self._zone(req)
        if zone is None:
            return cf_error(404, 1001, "Invalid zone identifier")
        rs = self.rulesets.get((zone["id"], req.params["phase"]))
        if rs is None:
            return cf_error(
                404,
                10003,
                "could not find entrypoint ruleset in the http_request_firewall_custom phase",
            )
        return self.fill(req, envelope(rs))

    def _put_entry(self, req: Request) -> Reply:
        if (denied := self._auth(req)) is not None:
            return denied
        if (denied := self._write_denied()) is not None:
            return denied
        zone = self._zone(req)
        if zone is None:
            return cf_error(404, 1001, "Invalid zone identifier")
        phase = req.params["phase"]
        body = req.json()
        rules = body.get("rules") if isinstance(body, dict) else None
        if not isinstance(rules, list):
            return cf_error(400, 20021, "'rules' must be an array")
        for r in rules:
            if not r.get("expression") or not r.get("action"):
                return cf_error(400, 20019, "each rule needs an expression and an action")
            if set(r) & {"version", "last_updated"}:
                return cf_error(400, 20020, "rule version and last_updated are read-only")
            if "cf.threat_score" in r["expression"]:
                # Not an API error in reality, but the wizard must never send it.
                return cf_error(400, 20200, "test fake: refusing a rule that can never match")
        if phase == "http_request_firewall_custom" and len(rules) > self.max_custom_rules:
            return cf_error(400, 20217, "exceeded maximum number of rules in the phase")
        key = (zone["id"], phase)
        old = self.rulesets.get(key)
        version = str(int(old["version"]) + 1) if old else "1"
        self.rulesets[key] = {
            "id": old["id"] if old else secrets.token_hex(16),
            "name": "default",
            "kind": "zone",
            "phase": phase,
            "version": version,
            "rules": [self._stored_rule(r, version) for r in rules],
        }
        return self.fill(req, envelope(self.rulesets[key]))

    # -- DNS records -------------------------------------------------------------
    def _dns_zone(self, req: Request) -> tuple[dict[str, dict[str, Any]], str] | Reply:
        if (denied := self._auth(req)) is not None:
            return denied
        zone = self._zone(req)
        if zone is None:
            return cf_error(
                404, 7003, "Could not route to /zones, perhaps your object identifier is invalid?"
            )
        return self.dns.setdefault(zone["id"], {}), zone["id"]

    def _list_dns(self, req: Request) -> Reply:
        found = self._dns_zone(req)
        if isinstance(found, Reply):
            return found
        records, _ = found
        name, kind = req.arg("name"), req.arg("type")
        out = [
            r
            for r in records.values()
            if (name is None or r["name"] == name.lower()) and (kind is None or r["type"] == kind)
        ]
        reply = self.fill(req, envelope(out))
        reply.body["result_info"] = {
            "page": 1, "per_page": 100, "count": len(out), "total_count": len(out)
        }  # fmt: skip
        return reply

    def _create_dns(self, req: Request) -> Reply:
        found = self._dns_zone(req)
        if isinstance(found, Reply):
            return found
        if (denied := self._write_denied()) is not None:
            return denied
        records, zone_id = found
        body = req.json()
        kind = str(body.get("type", "")).upper()
        name = str(body.get("name", "")).lower()
        # Cloudflare refuses a CNAME beside any other record of the same name, and vice versa.
        for r in records.values():
            clash = kind == "CNAME" or r["type"] == "CNAME"
            if r["name"] == name and clash and "TXT" not in (kind, r["type"]):
                message = "An A, AAAA, or CNAME record with that host already exists."
                return cf_error(400, 81053, message)
            if r["name"] == name and r["type"] == kind and r["content"] == body.get("content"):
                return cf_error(400, 81058, "An identical record already exists.")
        record_id = secrets.token_hex(16)
        records[record_id] = self._record(record_id, zone_id, body)
        return self.fill(req, envelope(records[record_id]))

    def _edit_dns(self, req: Request) -> Reply:
        found = self._dns_zone(req)
        if isinstance(found, Reply):
            return found
        if (denied := self._write_denied()) is not None:
            return denied
        records, zone_id = found
        record = records.get(req.params["record"])
        if record is None:
            return cf_error(404, 81044, "Record does not exist.")
        merged = {**record, **req.json()}
        records[record["id"]] = self._record(record["id"], zone_id, merged)
        return self.fill(req, envelope(records[record["id"]]))

    def _delete_dns(self, req: Request) -> Reply:
        found = self._dns_zone(req)
        if isinstance(found, Reply):
            return found
        if (denied := self._write_denied()) is not None:
            return denied
        records, _ = found
        if records.pop(req.params["record"], None) is None:
            return cf_error(404, 81044, "Record does not exist.")
        return self.fill(req, envelope({"id": req.params["record"]}))
