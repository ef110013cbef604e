"""The vendors' spec bugs the conformance check tolerates, and why each is a bug.

SOURCES.md (tests/api-specs) lists the known ones; they are tolerated exactly. A few more
were found while checking the suite's traffic; each says where the vendor's SDK shows the
document wrong. Each edit asserts the document still has the bug, so a new document that
fixes it makes the edit fail loudly instead of hiding a real deviation. The files stay
verbatim: the edits are made to the in-memory copy the checker uses.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tests.fakes.openapi import Operation

METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")


# -- listed in SOURCES.md, "Edits and known spec bugs" ------------------------------------------
def _cloudflare_tolerances(doc: dict[str, Any]) -> None:
    schemas = doc["components"]["schemas"]
    paths = doc["paths"]

    # rulesets_RuleAction's pattern ^[a-z]+$ rejects the document's own actions
    # (set_cache_settings, managed_challenge): cloudflare-python 5.9.0 has no such pattern.
    action = schemas["rulesets_RuleAction"]
    assert action.get("pattern") == "^[a-z]+$", "Cloudflare spec changed: RuleAction pattern"
    del action["pattern"]

    # edge_ttl of set_cache_settings requires default and status_code_ttl; the SDK requires
    # only mode (default is for override_origin).
    edge_ttl = schemas["rulesets_SetCacheSettingsRule"]["allOf"][1]["properties"][
        "action_parameters"
    ]["properties"]["edge_ttl"]
    assert edge_ttl.get("required") == ["mode", "default", "status_code_ttl"], "edge_ttl changed"
    edge_ttl["required"] = ["mode"]

    # DNS record create/overwrite/edit bodies are the record schema, which requires id,
    # proxiable, created_on, modified_on beside its oneOf; the SDK's RecordCreateParams,
    # RecordUpdateParams and RecordEditParams have none of them.
    record = schemas["dns-records_dns-record"]
    server_side = {"id", "proxiable", "created_on", "modified_on"}
    assert server_side <= set(record["required"]), "Cloudflare spec changed: dns-record required"
    body_schema = dict(record, required=[r for r in record["required"] if r not in server_side])
    collection = "/zones/{zone_id}/dns_records"
    single = collection + "/{dns_record_id}"
    for template, method in ((collection, "post"), (single, "put"), (single, "patch")):
        media = paths[template][method]["requestBody"]["content"]["application/json"]
        assert media["schema"] == {"$ref": "#/components/schemas/dns-records_dns-record"}
        media["schema"] = body_schema

    # DELETE of a DNS record declares a required, schema-less body; nobody sends one.
    delete = paths[single]["delete"]
    assert delete["requestBody"] == {"content": {"application/json": {}}, "required": True}
    delete["requestBody"]["required"] = False

    _cloudflare_failure_answers(doc)  # not listed in SOURCES.md: see below

    # Its security lists only X-Auth-Email + X-Auth-Key; API tokens with "DNS Write" are what
    # Cloudflare documents for these calls (the zone's other endpoints list api_token).
    for template in (collection, single):
        for method, op in paths[template].items():
            if method in METHODS and {"api_token": []} not in op.get("security", []):
                op.setdefault("security", []).append({"api_token": []})


# -- found by checking the suite's traffic, not listed in SOURCES.md --------------------------
def _supabase_tolerances(doc: dict[str, Any]) -> None:
    # Not listed in SOURCES.md, a bug of Supabase's own document: every operation requires
    # {"bearer": []} (or fga_permissions), but the document defines no securitySchemes at all
    # (supabase/cli packages/api/src/generated/openapi.json ends with components.schemas
    # only). Supabase documents the Management API as "Authorization: Bearer <token>".
    components = doc.setdefault("components", {})
    assert "securitySchemes" not in components, "Supabase spec now defines securitySchemes"
    components["securitySchemes"] = {"bearer": {"type": "http", "scheme": "bearer"}}


def _any_of(node: Any) -> None:
    if isinstance(node, dict):
        if "oneOf" in node:
            node["anyOf"] = node.pop("oneOf")
        for value in node.values():
            _any_of(value)
    elif isinstance(node, list):
        for value in node:
            _any_of(value)


def _vercel_tolerances(doc: dict[str, Any]) -> None:
    # Not listed in SOURCES.md: Vercel's document (generated for Speakeasy) writes its unions
    # as oneOf whose members overlap (an env entry with a value fits two of three; PATCH
    # /v9/projects/{idOrName}/env/{id} answers oneOf [entry, {}], which no object can satisfy
    # exactly once). Vercel's SDK reads every such union with smartUnion ("tries all schemas
    # and returns the best match", vercel/sdk src/types/smartUnion.ts): anyOf.
    _any_of(doc["paths"])
    _any_of(doc["components"])


def _cloudflare_failure_answers(doc: dict[str, Any]) -> None:
    # Not listed in SOURCES.md: several 4xx answers are allOf [the success envelope, the
    # common failure], whose ``success`` is enum [true] in one and [false] in the other, so
    # no error answer can match (GET /user/tokens/verify, the DNS records calls).
    # cloudflare-python (Stainless, _base_client._make_status_error_from_response) reads a
    # 4xx body as plain JSON into APIStatusError.body and never against these schemas; what
    # Cloudflare sends is the common failure, which is what is checked here.
    for item in doc["paths"].values():
        for method, op in item.items():
            if method not in METHODS:
                continue
            for code, response in op.get("responses", {}).items():
                media = response.get("content", {}).get("application/json", {})
                parts = media.get("schema", {}).get("allOf", [])
                failure = [
                    p
                    for p in parts
                    if str(p.get("$ref", "")).endswith("_api-response-common-failure")
                ]
                if code.lower() == "4xx" and failure:
                    media["schema"] = failure[0]


# -- what the checker applies -------------------------------------------------------------------
TOLERATED: dict[str, Callable[[dict[str, Any]], None]] = {
    "vercel": _vercel_tolerances,
    "cloudflare": _cloudflare_tolerances,
    "supabase": _supabase_tolerances,
}

# Endpoints the vendor serves that its (dated) document lacks, as SOURCES.md says.
UNDESCRIBED: dict[str, frozenset[tuple[str, str]]] = {
    # Account-owned API tokens came after the 2024-08 document.
    "cloudflare": frozenset({("get", "/accounts/{account_id}/tokens/verify")}),
}

BodyAdapter = Callable[[Any, "Operation", dict[str, Any]], Any]


def _camel_to_snake(key: str) -> str:
    # camelCase to snake_case, as Sentry's CamelSnakeSerializer reads the keys it is sent.
    return re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", key).lower()


def _snake_keys(value: Any) -> Any:
    if isinstance(value, dict):
        return {_camel_to_snake(k): _snake_keys(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_snake_keys(v) for v in value]
    return value


CAMEL_SNAKE = "Allows parameters to be defined in snake case, but passed as camel case."


def _sentry_body(body: Any, op: Operation, schema: dict[str, Any]) -> Any:
    # CamelSnakeSerializers: the document names fields in snake_case, Sentry converts every key
    # of the body it receives (recursively) before reading it.
    if str(schema.get("description", "")).startswith(CAMEL_SNAKE):
        return _snake_keys(body)
    return body


def _cloudflare_body(body: Any, op: Operation, schema: dict[str, Any]) -> Any:
    # PATCH /zones/{zone_id}/settings/{setting_id}: the body is the setting object, which
    # requires ``id``; the SDK sends only ``value`` (the id is the path's setting_id).
    if (
        op.method == "patch"
        and op.template == "/zones/{zone_id}/settings/{setting_id}"
        and isinstance(body, dict)
        and "id" not in body
    ):
        return {"id": op.params.get("setting_id", ""), **body}
    return body


BODY_ADAPTERS: dict[str, BodyAdapter] = {"sentry": _sentry_body, "cloudflare": _cloudflare_body}
