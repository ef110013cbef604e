"""The vendors' own OpenAPI descriptions, and checks of our traffic against them.

``tests/api-specs/*.json.gz`` are the vendors' documents, trimmed and copied verbatim from
``shared/api-specs`` (SOURCES.md beside them says where each comes from). A stand-in with a
``spec`` name has every request it receives checked here (path and method, path, query and
header parameters, credentials, body) and every answer it gives (status declared, body
shape), so a test passes only when the client speaks the vendor's published API and the
stand-in answers as the vendor says it would.

Schemas are checked with openapi-schema-validator (OpenAPI 3.0 / 3.1 dialects of
jsonschema), with OpenAPI's own rules where that library falls short: a readOnly property is
required in answers only (and a writeOnly one in requests only) also when the flag sits
behind a ``$ref``; form and query strings are read as the schema's types; an error status a
document does not list is accepted (OpenAPI: a document "is not necessarily expected to
cover all possible HTTP response codes"), an undeclared success is not. The vendors' spec
bugs that are tolerated are in ``spec_bugs``, each with its reason. Everything else is a
violation, reported as one line per problem naming method, path and what is wrong.
"""

from __future__ import annotations

import copy
import functools
import gzip
import json
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from jsonschema.exceptions import ValidationError
from jsonschema.validators import extend
from openapi_schema_validator import (
    OAS30ReadValidator,
    OAS30WriteValidator,
    OAS31Validator,
    oas30_format_checker,
    oas31_format_checker,
)

from tests.fakes import spec_bugs

SPEC_DIR = Path(__file__).resolve().parent.parent / "api-specs"
SPEC_NAMES = ("vercel", "github", "stripe", "sentry", "cloudflare", "resend", "supabase")
METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
MAX_ERRORS = 5  # per body: enough to act on, short enough to read


# -- what a check finds ------------------------------------------------------------------------
@dataclass(frozen=True)
class Violation:
    service: str
    method: str
    path: str
    message: str
    # "request", "response" or "unknown-endpoint" / "not-kept" (the endpoint itself).
    kind: str = "request"

    def __str__(self) -> str:
        return f"{self.service}: {self.method} {self.path}: {self.message}"


@dataclass(frozen=True)
class Operation:
    template: str
    method: str  # lower case
    op: dict[str, Any]
    params: dict[str, str]  # path parameters, percent-decoded


# -- form bodies (Stripe) ----------------------------------------------------------------------
def decode_form(pairs: list[tuple[str, str]]) -> dict[str, Any]:
    """``a[b][]=x`` pairs into nested dicts and lists, as Stripe reads them.

    ``a[]`` appends to a list; ``a[0]``, ``a[1]`` come out as a dict of digit keys, which
    ``ApiSpec`` turns into a list where the schema wants an array.
    """
    out: dict[str, Any] = {}
    for key, value in pairs:
        match = re.fullmatch(r"([^\[]*)((?:\[[^\]]*\])*)", key)
        # A stray bracket: Stripe takes the key as it is.
        segments = [key] if match is None else [match[1], *re.findall(r"\[([^\]]*)\]", match[2])]
        node: Any = out
        for i, seg in enumerate(segments):
            last = i == len(segments) - 1
            nxt = None if last else segments[i + 1]
            if isinstance(node, list):
                if last:
                    node.append(value)
                else:
                    child: Any = [] if nxt == "" else {}
                    node.append(child)
                    node = child
                continue
            if last:
                node[seg] = value
            else:
                if seg not in node or not isinstance(node[seg], dict | list):
                    node[seg] = [] if nxt == "" else {}
                node = node[seg]
    return out


# -- the spec ----------------------------------------------------------------------------------
def _template_regex(template: str) -> re.Pattern[str]:
    parts = re.split(r"(\{[^}]+\})", template)
    names: list[str] = []
    out = ""
    for part in parts:
        if part.startswith("{") and part.endswith("}"):
            out += f"(?P<p{len(names)}>[^/]+)"
            names.append(part[1:-1])
        else:
            out += re.escape(part)
    return re.compile("^" + out + "$")


def _template_names(template: str) -> list[str]:
    return re.findall(r"\{([^}]+)\}", template)


def _specificity(template: str) -> tuple[int, int]:
    # Concrete paths win over templated ones (OpenAPI: /users/me before /users/{id}).
    segments = template.strip("/").split("/")
    return (sum(1 for s in segments if "{" in s), -len(segments))


class ApiSpec:
    def __init__(self, name: str, doc: dict[str, Any]) -> None:
        self.name = name
        self.raw = doc
        self.doc = copy.deepcopy(doc)
        tolerate = spec_bugs.TOLERATED.get(name)
        if tolerate:
            tolerate(self.doc)
        self.oas31 = str(doc.get("openapi", "")).startswith("3.1")
        # The server URL's path (Cloudflare's /client/v4): the document's paths come after it.
        # A stand-in usually stands at that base, but a client given the full URL sends it.
        servers = doc.get("servers") or [{}]
        self.base_path = urlsplit(str(servers[0].get("url", ""))).path.rstrip("/")
        self._paths = sorted(
            ((_template_regex(t), t) for t in self.doc["paths"]), key=lambda p: _specificity(p[1])
        )
        all_paths: dict[str, list[str]] = doc.get("x-conformance", {}).get("all_paths", {})
        self._all_paths = sorted(
            ((_template_regex(t), t, set(m)) for t, m in all_paths.items()),
            key=lambda p: _specificity(p[1]),
        )
        self._undescribed = [
            (m, _template_regex(t)) for m, t in spec_bugs.UNDESCRIBED.get(name, ())
        ]
        if self.oas31:
            self._write = OAS31Validator(self.doc, format_checker=oas31_format_checker)
            self._read = self._write
        else:
            write = extend(OAS30WriteValidator, {"required": self._required_unless("readOnly")})
            read = extend(OAS30ReadValidator, {"required": self._required_unless("writeOnly")})
            self._write = write(self.doc, format_checker=oas30_format_checker)
            self._read = read(self.doc, format_checker=oas30_format_checker)

    def _flagged(self, schema: Any, flag: str, depth: int = 0) -> bool:
        schema = self.deref(schema)
        if not isinstance(schema, dict) or depth > 20:
            return False
        return bool(schema.get(flag)) or any(
            self._flagged(part, flag, depth + 1) for part in schema.get("allOf", ())
        )

    def _required_unless(self, flag: str) -> Callable[..., Iterator[ValidationError]]:
        """``required``, where a readOnly property is required in answers only (and a
        writeOnly one in requests only), as OpenAPI 3.0 says, also when the flag sits behind
        a ``$ref`` or in an ``allOf`` part (openapi-schema-validator looks only at the
        property's own keywords)."""

        def required(
            validator: Any, required: list[str], instance: Any, schema: dict[str, Any]
        ) -> Iterator[ValidationError]:
            if not validator.is_type(instance, "object"):
                return
            properties = schema.get("properties", {})
            for name in required:
                if name not in instance and not self._flagged(properties.get(name), flag):
                    yield ValidationError(f"{name!r} is a required property")

        return required

    # -- references ----------------------------------------------------------------------------
    def deref(self, obj: Any) -> Any:
        seen = 0
        while isinstance(obj, dict) and "$ref" in obj and seen < 50:
            ref = obj["$ref"]
            assert ref.startswith("#/"), f"{self.name}: remote $ref {ref}"
            node: Any = self.doc
            for part in ref[2:].split("/"):
                node = node[part.replace("~1", "/").replace("~0", "~")]
            obj = node
            seen += 1
        return obj

    def errors(self, instance: Any, schema: Any, *, read: bool) -> list[str]:
        validator = (self._read if read else self._write).evolve(schema=schema)
        out: list[str] = []
        for error in sorted(
            validator.iter_errors(instance), key=lambda e: [str(p) for p in e.path]
        ):
            out.append(_describe(error))
            if len(out) >= MAX_ERRORS:
                break
        return out

    def valid(self, instance: Any, schema: Any) -> bool:
        return self._write.evolve(schema=schema).is_valid(instance)

    # -- finding the operation -----------------------------------------------------------------
    def find(self, method: str, path: str) -> Operation | Violation:
        m = method.lower()
        if self.base_path and path.startswith(self.base_path + "/"):
            path = path[len(self.base_path) :]
        for regex, template in self._paths:
            match = regex.match(path)
            if not match:
                continue
            item = self.doc["paths"][template]
            if m not in item:
                continue
            names = _template_names(template)
            params = {names[int(k[1:])]: unquote(v) for k, v in match.groupdict().items()}
            return Operation(template, m, item[m], params)
        for um, regex in self._undescribed:
            if um == m and regex.match(path):
                return Violation(self.name, method, path, "", kind="undescribed")
        for regex, template, methods in self._all_paths:
            if regex.match(path) and m in methods:
                return Violation(
                    self.name,
                    method,
                    path,
                    f"{method.upper()} {template} exists in the vendor's full description but "
                    f"was not kept in tests/api-specs/{self.name}.json.gz "
                    "(x-conformance.all_paths): it cannot be checked",
                    kind="not-kept",
                )
        return Violation(
            self.name,
            method,
            path,
            f"no such endpoint in the vendor's API description ({self.name}.json.gz)",
            kind="unknown-endpoint",
        )

    def parameters(self, op: Operation) -> list[dict[str, Any]]:
        item = self.doc["paths"][op.template]
        merged: dict[tuple[str, str], dict[str, Any]] = {}
        for raw in [*item.get("parameters", []), *op.op.get("parameters", [])]:
            param = self.deref(raw)
            merged[(param["name"], param["in"])] = param
        return list(merged.values())

    # -- requests ------------------------------------------------------------------------------
    def check_request(
        self,
        method: str,
        path: str,
        query: list[tuple[str, str]],
        headers: Mapping[str, str],
        body: bytes,
    ) -> tuple[Operation | None, list[Violation]]:
        found = self.find(method, path)
        if isinstance(found, Violation):
            return None, ([] if found.kind == "undescribed" else [found])
        op = found
        problems: list[str] = []
        params = self.parameters(op)
        security_query = self._check_security(op, query, headers, problems)
        self._check_path_params(op, params, problems)
        self._check_query(op, params, query, security_query, problems)
        self._check_headers(params, headers, problems)
        self._check_body(op, headers, body, problems)
        return op, [Violation(self.name, method, path, p) for p in problems]

    def _check_security(
        self,
        op: Operation,
        query: list[tuple[str, str]],
        headers: Mapping[str, str],
        problems: list[str],
    ) -> set[str]:
        requirements = op.op.get("security", self.doc.get("security"))
        schemes = self.doc.get("components", {}).get("securitySchemes", {})
        query_names = {k for k, _ in query}
        allowed_query: set[str] = set()
        for requirement in requirements or []:
            for name in requirement:
                scheme = schemes.get(name, {})
                if scheme.get("type") == "apiKey" and scheme.get("in") == "query":
                    allowed_query.add(scheme.get("name", ""))
        if not requirements:
            return allowed_query
        auth = headers.get("authorization", "")

        def present(name: str) -> bool:
            scheme = schemes.get(name)
            if scheme is None:
                return False
            kind = scheme.get("type")
            if kind == "apiKey":
                where, key = scheme.get("in"), scheme.get("name", "")
                if where == "header":
                    return key.lower() in headers
                if where == "query":
                    return key in query_names
                return where == "cookie" and key in headers.get("cookie", "")
            if kind == "http":
                return auth.lower().startswith(str(scheme.get("scheme", "")).lower() + " ")
            # oauth2 / openIdConnect: a bearer token.
            return auth.lower().startswith("bearer ")

        if any(all(present(n) for n in requirement) for requirement in requirements):
            return allowed_query
        wanted = " or ".join("+".join(r) or "(none)" for r in requirements)
        problems.append(f"no credentials the operation accepts (it takes {wanted})")
        return allowed_query

    def _check_path_params(
        self, op: Operation, params: list[dict[str, Any]], problems: list[str]
    ) -> None:
        for param in params:
            if param["in"] != "path":
                continue
            value = op.params.get(param["name"])
            if value is None:
                problems.append(f"path parameter {param['name']} is not in the path template")
                continue
            schema = param.get("schema")
            if schema is not None:
                for err in self.errors(self.coerce(value, schema), schema, read=False):
                    problems.append(f"path parameter {param['name']}={value!r}: {err}")

    def _check_query(
        self,
        op: Operation,
        params: list[dict[str, Any]],
        query: list[tuple[str, str]],
        security_query: set[str],
        problems: list[str],
    ) -> None:
        declared = {p["name"]: p for p in params if p["in"] == "query"}
        given: dict[str, list[tuple[str, str]]] = {}
        for key, value in query:
            if key in security_query:
                continue
            base = key if key in declared else key.split("[", 1)[0]
            if base not in declared:
                problems.append(
                    f"query parameter {key!r} is not a parameter of "
                    f"{op.method.upper()} {op.template}"
                    + (
                        f" (it takes: {', '.join(sorted(declared))})"
                        if declared
                        else " (it takes none)"
                    )
                )
                continue
            given.setdefault(base, []).append((key, value))
        for name, param in declared.items():
            pairs = given.get(name)
            if not pairs:
                if param.get("required"):
                    problems.append(f"required query parameter {name!r} is missing")
                continue
            schema = param.get("schema")
            if schema is None:
                continue
            value = self._query_value(name, param, schema, pairs)
            for err in self.errors(value, schema, read=False):
                problems.append(f"query parameter {name}: {err}")

    def _query_value(
        self, name: str, param: dict[str, Any], schema: Any, pairs: list[tuple[str, str]]
    ) -> Any:
        style = param.get("style", "form")
        resolved = self.deref(schema)
        if style == "deepObject" or any(k != name for k, _ in pairs):
            return self.coerce(decode_form(pairs).get(name), schema)
        values = [v for _, v in pairs]
        if self._wants(resolved, "array"):
            if not param.get("explode", style == "form") and len(values) == 1:
                values = values[0].split(",")
            return self.coerce(values, schema)
        if len(values) > 1:
            return values  # given more than once: the schema says which single value it takes
        return self.coerce(values[0], schema)

    def _check_headers(
        self, params: list[dict[str, Any]], headers: Mapping[str, str], problems: list[str]
    ) -> None:
        for param in params:
            if param["in"] != "header":
                continue
            value = headers.get(param["name"].lower())
            if value is None:
                if param.get("required"):
                    problems.append(f"required header {param['name']} is missing")
                continue
            schema = param.get("schema")
            if schema is not None:
                for err in self.errors(self.coerce(value, schema), schema, read=False):
                    problems.append(f"header {param['name']}: {err}")

    def _check_body(
        self, op: Operation, headers: Mapping[str, str], body: bytes, problems: list[str]
    ) -> None:
        spec_body = self.deref(op.op.get("requestBody"))
        if not spec_body:
            if body:
                problems.append("sends a body, but the operation takes none")
            return
        if not body:
            if spec_body.get("required"):
                problems.append("the request body is required")
            return
        content = spec_body.get("content", {})
        ctype = headers.get("content-type", "").split(";")[0].strip().lower()
        media_type = _match_media(ctype, content)
        if media_type is None:
            problems.append(
                f"body sent as {ctype or 'no content type'}; the operation takes "
                + ", ".join(sorted(content))
            )
            return
        schema = content[media_type].get("schema")
        if schema is None:
            return
        if ctype == "application/x-www-form-urlencoded":
            try:
                pairs = parse_qsl(body.decode(), keep_blank_values=True, strict_parsing=True)
            except (UnicodeDecodeError, ValueError) as exc:
                problems.append(f"form body does not parse: {exc}")
                return
            instance: Any = self.coerce(decode_form(pairs), schema)
        elif ctype.endswith("json"):
            try:
                instance = json.loads(body)
            except ValueError as exc:
                problems.append(f"body is not JSON: {exc}")
                return
        else:
            return
        adapt = spec_bugs.BODY_ADAPTERS.get(self.name)
        if adapt is not None:
            instance = adapt(instance, op, self.deref(schema))
        for err in self.errors(instance, schema, read=False):
            problems.append(f"body{err}" if err.startswith((".", "[")) else f"body: {err}")

    # -- responses -----------------------------------------------------------------------------
    def check_response(
        self, op: Operation, method: str, path: str, status: int, ctype: str, payload: bytes
    ) -> list[Violation]:
        responses: dict[str, Any] = op.op.get("responses", {})
        key = _response_key(status, responses)
        label = f"{op.method.upper()} {op.template}"
        if key is None and status >= 400:
            # OpenAPI 3.0 (Responses Object): a document "is not necessarily expected to cover
            # all possible HTTP response codes"; a 401 for a bad token or a 404 for a missing
            # repository is what every endpoint of these APIs answers, listed or not.
            return []
        if key is None:
            return [
                Violation(
                    self.name,
                    method,
                    path,
                    f"answered {status}, which {label} does not declare "
                    f"(it declares {', '.join(sorted(responses))})",
                    kind="response",
                )
            ]
        response = self.deref(responses[key])
        content = response.get("content") or {}
        base = ctype.split(";")[0].strip().lower()
        if not payload or not content:
            return []
        media_type = _match_media(base, content)
        if media_type is None:
            return [
                Violation(
                    self.name,
                    method,
                    path,
                    f"answered {status} as {base or 'no content type'}; {label} declares "
                    + ", ".join(sorted(content)),
                    kind="response",
                )
            ]
        schema = content[media_type].get("schema")
        if schema is None or not base.endswith("json"):
            return []
        try:
            instance = json.loads(payload)
        except ValueError:
            return [
                Violation(self.name, method, path, f"answered {status} with non-JSON", "response")
            ]
        return [
            Violation(
                self.name,
                method,
                path,
                f"answer {status} body{err}"
                if err.startswith((".", "["))
                else f"answer {status}: {err}",
                kind="response",
            )
            for err in self.errors(instance, schema, read=True)
        ]

    # -- the vendor's full objects, for the stand-ins' answers ----------------------------------
    def response_schema(self, method: str, path: str, status: int) -> Any:
        found = self.find(method, path)
        if isinstance(found, Violation):
            raise LookupError(found.message)
        responses = found.op.get("responses", {})
        key = _response_key(status, responses)
        if key is None:
            raise LookupError(f"{method} {found.template} declares no {status}")
        content = self.deref(responses[key]).get("content") or {}
        media = _match_media("application/json", content)
        if media is None or "schema" not in content[media]:
            raise LookupError(f"{method} {found.template} {status} has no JSON schema")
        return content[media]["schema"]

    def complete(self, value: Any, schema: Any, depth: int = 0) -> Any:
        """``value`` with every property the schema requires that it lacks filled in.

        The filling is the document's own example where it gives one that fits, else a
        plain value of the right type: what a stand-in answers beyond the fields it models,
        so that its answers have the vendor's full shape. Fields already in ``value`` are
        kept as they are (and checked like everything else).
        """
        schema = self.deref(schema)
        if not isinstance(schema, dict) or depth > 30:
            return value
        if value is None and not schema.get("nullable"):
            return self._repair(self._sample(schema, depth), schema)
        branches = [*schema.get("oneOf", ()), *schema.get("anyOf", ())]
        if branches:
            for branch in branches:
                candidate = self.complete(value, branch, depth + 1)
                if self.valid_read(candidate, branch):
                    return candidate
            return self.complete(value, branches[0], depth + 1)
        for part in schema.get("allOf", ()):
            value = self.complete(value, part, depth + 1)
        if isinstance(value, dict):
            props = schema.get("properties", {})
            out = dict(value)
            for name in schema.get("required", ()):
                if name not in out and not self._flagged(props.get(name), "writeOnly"):
                    sub = props.get(name, {})
                    out[name] = self._repair(self._sample(sub, depth + 1), sub)
            for name, sub in list(out.items()):
                if name in props:
                    out[name] = self.complete(sub, props[name], depth + 1)
            return out
        if isinstance(value, list):
            return [self.complete(v, schema.get("items", {}), depth + 1) for v in value]
        return value

    def sample(self, schema: Any, depth: int = 0) -> Any:
        """A small value the schema accepts (its example when that fits)."""
        return self._repair(self._sample(schema, depth), schema)

    def _repair(self, value: Any, schema: Any) -> Any:
        # Parts of an allOf sampled apart can disagree (a success envelope's ``success`` is
        # enum [true] in one part, a plain boolean in the other): set each value an error
        # points at to what that error's schema wants, a few rounds at most.
        for _ in range(8):
            errors = list(self._read.evolve(schema=schema).iter_errors(value))
            fixable = [e for e in errors if e.validator in ("enum", "type", "pattern")]
            if not errors or not fixable:
                return value
            for error in fixable:
                if error.validator == "enum":
                    wanted = copy.deepcopy(error.validator_value[0])
                elif error.validator == "pattern":
                    # A literal prefix (Stripe's ^/v1/webhook_endpoints) is all a sample needs.
                    wanted = re.split(r"[\\\[\](){}.*+?|$]", error.validator_value.lstrip("^"))[0]
                else:
                    wanted = self._sample(error.schema, 1)
                value = _replace(value, list(error.absolute_path), wanted)
        return value

    def _sample(self, schema: Any, depth: int) -> Any:
        schema = self.deref(schema)
        if not isinstance(schema, dict) or depth > 30:
            return None
        discriminator = schema.get("discriminator") or {}
        mapping = discriminator.get("mapping") or {}
        if mapping:
            # The first kind the discriminator names, with its property saying so.
            kind, ref = next(iter(mapping.items()))
            value = self._sample({"$ref": ref}, depth + 1)
            if isinstance(value, dict):
                value[discriminator["propertyName"]] = kind
            return value
        for key in ("example", "default"):
            if key in schema and self.valid_read(schema[key], schema):
                return copy.deepcopy(schema[key])
        if schema.get("enum"):
            return copy.deepcopy(schema["enum"][0])
        branches = [*schema.get("oneOf", ()), *schema.get("anyOf", ())]
        for branch in branches:
            candidate = self._sample(branch, depth + 1)
            if self.valid_read(candidate, schema):
                return candidate
        if schema.get("allOf"):
            merged: Any = None
            for part in schema["allOf"]:
                piece = self._sample(part, depth + 1)
                if isinstance(piece, dict):
                    merged = {**(merged or {}), **piece}
                elif merged is None:
                    merged = piece
            return self.complete(merged, schema, depth + 1)
        types = schema.get("type")
        kind = types[0] if isinstance(types, list) else types
        if kind is None and "properties" in schema:
            kind = "object"
        if kind == "object":
            return self.complete({}, {**schema, "allOf": []}, depth + 1)
        if kind == "array":
            item = self._sample(schema.get("items", {}), depth + 1)
            return [item] * int(schema.get("minItems", 0))
        if kind == "string":
            return _FORMAT_SAMPLES.get(
                str(schema.get("format")), "x" * int(schema.get("minLength", 1) or 1)
            )
        if kind == "integer":
            return int(schema.get("minimum", 0))
        if kind == "number":
            return schema.get("minimum", 0)
        if kind == "boolean":
            return False
        return None

    def valid_read(self, instance: Any, schema: Any) -> bool:
        return self._read.evolve(schema=schema).is_valid(instance)

    # -- strings into the types a schema wants -------------------------------------------------
    def _wants(self, schema: Any, kind: str) -> bool:
        schema = self.deref(schema)
        if not isinstance(schema, dict):
            return False
        types = schema.get("type")
        if types == kind or (isinstance(types, list) and kind in types):
            return True
        return any(
            self._wants(b, kind)
            for b in (*schema.get("anyOf", ()), *schema.get("oneOf", ()), *schema.get("allOf", ()))
        )

    def coerce(self, value: Any, schema: Any, depth: int = 0) -> Any:
        """Form and query values are strings: read them as the schema's types, like the vendor."""
        schema = self.deref(schema)
        if not isinstance(schema, dict) or depth > 40:
            return value
        branches = [*schema.get("anyOf", ()), *schema.get("oneOf", ())]
        if branches:
            for branch in branches:
                candidate = self.coerce(value, branch, depth + 1)
                if self.valid(candidate, branch):
                    return candidate
            return self.coerce(value, branches[0], depth + 1)
        for part in schema.get("allOf", ()):
            value = self.coerce(value, part, depth + 1)
        if (
            isinstance(value, dict)
            and value
            and all(k.isdigit() for k in value)
            and self._wants(schema, "array")
        ):
            value = [value[k] for k in sorted(value, key=int)]
        if isinstance(value, dict):
            props = schema.get("properties", {})
            extra = schema.get("additionalProperties")
            return {
                k: self.coerce(v, props.get(k, extra if isinstance(extra, dict) else {}), depth + 1)
                for k, v in value.items()
            }
        if isinstance(value, list):
            items = schema.get("items", {})
            return [self.coerce(v, items, depth + 1) for v in value]
        if isinstance(value, str):
            return _scalar(value, schema)
        return value


def _scalar(value: str, schema: dict[str, Any]) -> Any:
    types = schema.get("type")
    kinds = types if isinstance(types, list) else [types]
    if "string" in kinds or types is None:
        return value
    if "integer" in kinds and re.fullmatch(r"-?\d+", value):
        return int(value)
    if "number" in kinds and re.fullmatch(r"-?\d+(\.\d+)?([eE][-+]?\d+)?", value):
        return float(value)
    if "boolean" in kinds and value in ("true", "false"):
        return value == "true"
    return value


_FORMAT_SAMPLES = {
    "date-time": "2026-01-01T00:00:00Z",
    "date": "2026-01-01",
    "uri": "https://example.com/",
    "url": "https://example.com/",
    "email": "dev@example.com",
    "uuid": "00000000-0000-4000-8000-000000000000",
    "ipv4": "192.0.2.1",
    "ipv6": "2001:db8::1",
    "hostname": "example.com",
}


def _replace(value: Any, path: list[Any], new: Any) -> Any:
    if not path:
        return new
    head, rest = path[0], path[1:]
    if isinstance(value, dict):
        return {**value, head: _replace(value.get(head), rest, new)}
    if isinstance(value, list) and isinstance(head, int) and head < len(value):
        return [*value[:head], _replace(value[head], rest, new), *value[head + 1 :]]
    return value


def _match_media(ctype: str, content: Mapping[str, Any]) -> str | None:
    for declared in content:
        d = declared.split(";")[0].strip().lower()
        if d == ctype or d == "*/*":
            return declared
        if d.endswith("/*") and ctype.startswith(d[:-1]):
            return declared
    return None


def _response_key(status: int, responses: Mapping[str, Any]) -> str | None:
    if str(status) in responses:
        return str(status)
    # Ranges: the spec says "4XX"; Cloudflare's document writes "4xx".
    wanted = f"{status // 100}xx"
    for key in responses:
        if key.lower() == wanted:
            return key
    return "default" if "default" in responses else None


def _describe(error: ValidationError) -> str:
    # In a failed anyOf/oneOf, the branch that got furthest into the instance is the one
    # the sender meant: report its problem, not "is not of type 'object'" from another.
    depth = 0
    while error.context and depth < 20:
        error = max(
            error.context,
            key=lambda e: (len(e.absolute_path), e.validator != "type", e.validator != "enum"),
        )
        depth += 1
    where = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in error.absolute_path)
    message = error.message
    if len(message) > 240:
        message = message[:240] + "…"
    return f"{where}: {message}" if where else message


# -- loading -----------------------------------------------------------------------------------
def spec_path(name: str) -> Path:
    return SPEC_DIR / f"{name}.json.gz"


@functools.cache
def load(name: str) -> ApiSpec:
    with gzip.open(spec_path(name), "rt", encoding="utf-8") as fh:
        return ApiSpec(name, json.load(fh))


def iter_specs() -> Iterator[ApiSpec]:
    for name in SPEC_NAMES:
        yield load(name)
