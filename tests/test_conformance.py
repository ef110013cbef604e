"""The checks of our traffic against the vendors' OpenAPI documents (tests/fakes/openapi.py).

Every stand-in with a ``spec`` checks what it receives and answers during the whole suite;
these tests pin that the checker itself finds what it must (and tolerates exactly the spec
bugs SOURCES.md lists), that the copied documents are the vendors' ones byte for byte, and
that a deviation fails the test that caused it, with a line naming method, path and problem.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import re
import textwrap
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.fakes import openapi
from tests.fakes.base import FakeService, Reply, take_violations
from tests.fakes.cloudflare import FakeCloudflare
from tests.fakes.vercel import FakeVercel

pytest_plugins = ("pytester",)

ZONE = "023e105f4ecef8ad9ca31a8372d0c353"
BEARER = {"authorization": "Bearer t0ken", "content-type": "application/json"}
FORM = {"authorization": "Bearer sk_live_x", "content-type": "application/x-www-form-urlencoded"}


def request(
    spec: str,
    method: str,
    path: str,
    *,
    query: list[tuple[str, str]] | None = None,
    headers: dict[str, str] | None = None,
    body: Any = None,
) -> list[str]:
    raw = body if isinstance(body, bytes) else (b"" if body is None else json.dumps(body).encode())
    _, found = openapi.load(spec).check_request(
        method, path, query or [], BEARER if headers is None else headers, raw
    )
    return [v.message for v in found]


# -- the documents ----------------------------------------------------------------------------
def test_the_specs_are_the_vendors_documents_byte_for_byte() -> None:
    sources = (openapi.SPEC_DIR / "SOURCES.md").read_text()
    listed = dict(
        (name, digest)
        for digest, name in re.findall(r"^\s+([0-9a-f]{64})\s+(\S+\.json\.gz)$", sources, re.M)
    )
    assert sorted(listed) == sorted(f"{n}.json.gz" for n in openapi.SPEC_NAMES)
    for name, digest in listed.items():
        data = (openapi.SPEC_DIR / name).read_bytes()
        assert hashlib.sha256(data).hexdigest() == digest, f"{name} differs from SOURCES.md"
        assert json.loads(gzip.decompress(data))["openapi"].startswith("3.")


def test_every_fake_with_a_vendor_names_its_spec() -> None:
    from tests.fakes import github, resend, sentry, stripe, supabase, upstash

    names = {
        c.spec
        for c in (
            FakeVercel,
            FakeCloudflare,
            github.FakeGitHub,
            resend.FakeResend,
            sentry.FakeSentry,
            stripe.FakeStripe,
            supabase.FakeSupabase,
        )
    }
    assert names == set(openapi.SPEC_NAMES)
    assert upstash.FakeUpstash.spec is None  # Upstash publishes no OpenAPI description


# -- what the checker finds -------------------------------------------------------------------
def test_team_id_on_get_user_is_a_deviation() -> None:
    # Issue 12 point 13: GET /v2/user takes no parameters.
    [problem] = request("vercel", "GET", "/v2/user", query=[("teamId", "team_1")])
    assert problem == "query parameter 'teamId' is not a parameter of GET /v2/user (it takes none)"
    assert request("vercel", "GET", "/v2/user") == []
    assert request("vercel", "GET", "/v9/projects/dream-pixel", query=[("teamId", "t")]) == []


def test_endpoints_not_kept_are_told_from_ones_that_do_not_exist() -> None:
    spec = openapi.load("vercel")
    kept_out = spec.find("GET", "/v1/access-groups")
    assert isinstance(kept_out, openapi.Violation) and kept_out.kind == "not-kept"
    assert "was not kept" in kept_out.message and "all_paths" in kept_out.message
    nowhere = spec.find("GET", "/v2/nothing-here")
    assert isinstance(nowhere, openapi.Violation) and nowhere.kind == "unknown-endpoint"
    # A kept path with a method the vendor does not have.
    wrong_method = spec.find("DELETE", "/v2/user")
    assert isinstance(wrong_method, openapi.Violation) and wrong_method.kind == "unknown-endpoint"
    # Cloudflare's paths follow its server URL's /client/v4, with or without it.
    assert request("cloudflare", "GET", "/client/v4/zones") == []
    assert request("cloudflare", "GET", "/zones") == []
    # Sentry's paths end with a slash; without it there is no such endpoint.
    assert request("sentry", "GET", "/api/0/organizations/acme") != []


def test_bodies_parameters_and_credentials_are_checked() -> None:
    env = "/v10/projects/p/env"
    good = [{"key": "A", "value": "1", "type": "encrypted", "target": ["production"]}]
    assert request("vercel", "POST", env, query=[("upsert", "true")], body=good) == []
    [bad_type] = request("vercel", "POST", env, body=[dict(good[0], type="bogus")])
    assert bad_type.startswith("body[0].type: 'bogus' is not one of")
    assert request("vercel", "POST", env) == ["the request body is required"]
    [unknown] = request("vercel", "POST", env, query=[("force", "1")], body=good)
    assert unknown.startswith("query parameter 'force' is not a parameter of POST")
    headers = {"authorization": "Bearer t", "content-type": "text/plain"}
    [wrong_type] = request("vercel", "POST", env, headers=headers, body=good)
    assert wrong_type.startswith("body sent as text/plain")
    [anonymous] = request("vercel", "GET", "/v2/user", headers={})
    assert anonymous.startswith("no credentials the operation accepts")
    [extra] = request("github", "GET", "/user", body={"x": 1})
    assert extra == "sends a body, but the operation takes none"
    # A path parameter the vendor constrains: a Supabase ref is 20 lower-case letters.
    assert request("supabase", "GET", "/v1/projects/NOT-A-REF/config/database/pooler") != []


def test_stripe_form_bodies_are_read_as_stripe_reads_them() -> None:
    assert openapi.decode_form(
        [("a[]", "1"), ("a[]", "2"), ("m[k]", "v"), ("b[0][c]", "x"), ("e", "")]
    ) == {"a": ["1", "2"], "m": {"k": "v"}, "b": {"0": {"c": "x"}}, "e": ""}
    path = "/v1/webhook_endpoints"
    ok = b"url=https%3A%2F%2Fx.example%2Fh&enabled_events[]=customer.subscription.paused"
    assert request("stripe", "POST", path, headers=FORM, body=ok) == []
    indexed = b"url=https%3A%2F%2Fx.example%2Fh&enabled_events[0]=charge.failed&connect=true"
    assert request("stripe", "POST", path, headers=FORM, body=indexed) == []
    [bad] = request(
        "stripe", "POST", path, headers=FORM, body=ok + b"&enabled_events[]=not.an.event"
    )
    assert bad.startswith("body.enabled_events[1]: 'not.an.event' is not one of")
    [unknown] = request("stripe", "POST", path, headers=FORM, body=ok + b"&colour=red")
    assert "colour" in unknown
    assert request("stripe", "GET", path, headers=FORM, query=[("limit", "100")]) == []
    assert request("stripe", "GET", path, headers=FORM, query=[("limit", "lots")]) != []


# -- exactly the spec bugs SOURCES.md lists are tolerated --------------------------------------
def test_cloudflare_listed_spec_bugs_are_tolerated() -> None:
    entry = f"/zones/{ZONE}/rulesets/phases/http_request_cache_settings/entrypoint"
    cache_rule = {
        "action": "set_cache_settings",
        "expression": '(starts_with(http.request.uri.path, "/_next/static/"))',
        "description": "cache",
        "action_parameters": {"cache": True, "edge_ttl": {"mode": "respect_origin"}},
    }
    assert request("cloudflare", "PUT", entry, body={"rules": [cache_rule]}) == []
    challenge = {"action": "managed_challenge", "expression": "true", "description": "c"}
    assert request("cloudflare", "PUT", entry, body={"rules": [challenge]}) == []
    setting = f"/zones/{ZONE}/settings/ssl"
    assert request("cloudflare", "PATCH", setting, body={"value": "strict"}) == []
    assert request("cloudflare", "PATCH", setting, body={"value": "sideways"}) != []
    records = f"/zones/{ZONE}/dns_records"
    cname = {"type": "CNAME", "name": "www", "content": "cname.vercel-dns.com", "proxied": True}
    assert request("cloudflare", "POST", records, body=cname) == []
    one = f"{records}/{'ab' * 16}"
    assert request("cloudflare", "PUT", one, body=cname) == []
    assert request("cloudflare", "DELETE", one) == []
    assert request("cloudflare", "POST", records, body={"type": "CNAME"}) != []
    # The account-owned token check the 2024 document predates.
    assert request("cloudflare", "GET", f"/accounts/{ZONE}/tokens/verify") == []
    # Its 4xx answers (keyed "4xx" or "4XX") are Cloudflare's failure envelope.
    spec = openapi.load("cloudflare")
    failure = {"success": False, "errors": [{"code": 9109, "message": "x"}], "messages": []}
    for method, path in (("GET", "/user/tokens/verify"), ("DELETE", one), ("GET", records)):
        op = spec.find(method, path)
        assert isinstance(op, openapi.Operation)
        payload = json.dumps(dict(failure, result=None)).encode()
        assert spec.check_response(op, method, path, 403, "application/json", payload) == []


def test_cloudflare_spec_is_otherwise_enforced() -> None:
    # Beside the listed bugs the document still rules: the setting's value, the rule's id.
    entry = f"/zones/{ZONE}/rulesets/phases/http_request_firewall_custom/entrypoint"
    rule = {"id": "r1", "action": "block", "expression": "true", "description": "x"}
    [bad_id] = request("cloudflare", "PUT", entry, body={"rules": [rule]})
    assert "'r1' does not match" in bad_id
    headers = {"x-auth-email": "a@b.c", "content-type": "application/json"}
    [no_key] = request("cloudflare", "GET", "/zones", headers=headers)
    assert no_key.startswith("no credentials")


def test_sentry_camel_case_bodies_are_converted_as_sentry_does() -> None:
    monitor = {
        "name": "Dream Pixel — error rate",
        "type": "metric_issue",
        "dataSources": [
            {
                "aggregate": "count()",
                "dataset": "events",
                "eventTypes": ["error"],
                "query": "",
                "queryType": 0,
                "timeWindow": 3600,
            }
        ],
        "conditionGroup": {
            "logicType": "any",
            "conditions": [{"type": "gt", "comparison": 10, "conditionResult": 75}],
            "actions": [],  # the document's own examples carry it; the serializer ignores it
        },
        "config": {"detectionType": "static"},
    }
    path = "/api/0/organizations/acme/projects/dream-pixel/detectors/"
    assert request("sentry", "POST", path, body=monitor) == []
    broken = dict(monitor, conditionGroup={"logicType": "sometimes", "conditions": []})
    assert request("sentry", "POST", path, body=broken) != []


def test_undeclared_error_statuses_pass_undeclared_successes_do_not() -> None:
    spec = openapi.load("github")
    op = spec.find("GET", "/repos/o/r/actions/secrets")
    assert isinstance(op, openapi.Operation)
    body = json.dumps({"message": "Not Found"}).encode()
    assert spec.check_response(op, "GET", "/p", 404, "application/json", body) == []
    [wrong] = spec.check_response(op, "GET", "/p", 202, "application/json", b"{}")
    assert "answered 202, which GET /repos/{owner}/{repo}/actions/secrets does not declare" in (
        wrong.message
    )


def test_full_answers_keep_what_the_fake_set_and_fill_what_the_vendor_always_sends() -> None:
    spec = openapi.load("vercel")
    schema = spec.response_schema("GET", "/v2/user", 200)
    full = spec.complete({"user": {"id": "usr_1", "username": "d", "email": "d@x.io"}}, schema)
    assert full["user"]["id"] == "usr_1" and "createdAt" in full["user"]
    assert spec.valid_read(full, schema)


def test_every_kept_success_answer_can_be_filled_in() -> None:
    # What ``FakeService.full`` fills in for a route a stand-in grows must itself conform.
    failures = []
    for spec in openapi.iter_specs():
        for template, item in spec.doc["paths"].items():
            for method, op in item.items():
                if method not in openapi.METHODS:
                    continue
                for code, response in op.get("responses", {}).items():
                    content = spec.deref(response).get("content") or {}
                    media = content.get("application/json") or {}
                    if code.startswith("2") and "schema" in media:
                        value = spec.sample(media["schema"])
                        if not spec.valid_read(value, media["schema"]):
                            failures.append(f"{spec.name} {method} {template} {code}")
    assert failures == []


# -- a deviation fails the test that caused it -------------------------------------------------
@pytest.fixture
def vercel() -> Iterator[FakeVercel]:
    with FakeVercel("tok") as fake:
        yield fake


def test_fakes_record_deviations_with_method_and_path(vercel: FakeVercel) -> None:
    httpx.get(
        vercel.url + "/v2/user", params={"teamId": "t"}, headers={"authorization": "Bearer tok"}
    )
    httpx.get(vercel.url + "/v1/access-groups", headers={"authorization": "Bearer tok"})
    found = take_violations()  # taken here, so this test itself does not fail
    assert [str(v) for v in found] == [
        "vercel: GET /v2/user: query parameter 'teamId' is not a parameter of GET /v2/user "
        "(it takes none)",
        "vercel: GET /v1/access-groups: GET /v1/access-groups exists in the vendor's full "
        "description but was not kept in tests/api-specs/vercel.json.gz "
        "(x-conformance.all_paths): it cannot be checked",
    ]
    # Injected faults are the test's doing: not checked.
    vercel.inject(502, body="bad gateway")
    httpx.get(vercel.url + "/v2/user", headers={"authorization": "Bearer tok"})
    assert take_violations() == []


def test_a_fake_answer_the_vendor_never_gives_is_a_deviation() -> None:
    class Sloppy(FakeService):
        spec = "vercel"

    with Sloppy() as fake:
        fake.add_route("GET", "/v2/user", lambda req: Reply(200, {"user": {"id": "x"}}))
        httpx.get(fake.url + "/v2/user", headers={"authorization": "Bearer t"})
        # A misbehaviour the test simulates on purpose is not held against the fake.
        fake.add_route("GET", "/v9/projects/{p}", lambda req: Reply(200, {}, off_spec="test"))
        httpx.get(fake.url + "/v9/projects/x", headers={"authorization": "Bearer t"})
    [found] = take_violations()
    assert found.kind == "response" and "body.user: '" in found.message
    assert "is a required property" in found.message


def test_a_deviating_request_fails_its_test(pytester: pytest.Pytester) -> None:
    pytester.makeconftest(
        "from tests.conftest import _conformance, pytest_runtest_call, pytest_runtest_makereport\n"
    )
    pytester.makepyfile(
        textwrap.dedent(
            """
            import httpx
            from tests.fakes.vercel import FakeVercel

            def test_sends_team_id_to_user():
                with FakeVercel("tok") as fake:
                    httpx.get(
                        fake.url + "/v2/user",
                        params={"teamId": "t"},
                        headers={"authorization": "Bearer tok"},
                    )
            """
        )
    )
    result = pytester.runpytest_inprocess(
        "-p", "no:xdist", "-p", "no:cacheprovider", "-p", "no:textual-snapshot"
    )
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "*traffic that deviates from the vendors' OpenAPI descriptions*",
            "*vercel: GET /v2/user: query parameter 'teamId' is not a parameter of GET /v2/user*",
        ]
    )


def test_an_xfail_test_cannot_hide_a_deviation(pytester: pytest.Pytester) -> None:
    pytester.makeconftest(
        "from tests.conftest import _conformance, pytest_runtest_call, pytest_runtest_makereport\n"
    )
    pytester.makepyfile(
        textwrap.dedent(
            """
            import httpx
            import pytest
            from tests.fakes.vercel import FakeVercel

            @pytest.mark.xfail(reason="some open bug")
            def test_open_bug_that_also_deviates():
                with FakeVercel("tok") as fake:
                    httpx.get(fake.url + "/v2/nope", headers={"authorization": "Bearer tok"})
                assert False

            @pytest.mark.xfail(reason="some open bug")
            def test_open_bug_whose_only_failure_is_a_deviation():
                with FakeVercel("tok") as fake:
                    httpx.get(fake.url + "/v2/nope", headers={"authorization": "Bearer tok"})
            """
        )
    )
    result = pytester.runpytest_inprocess(
        "-p", "no:xdist", "-p", "no:cacheprovider", "-p", "no:textual-snapshot"
    )
    # The first: its own failure is expected, the deviation errors at teardown. The second: the
    # deviation is its failure, and fails it.
    result.assert_outcomes(xfailed=1, errors=1, failed=1)
    result.stdout.fnmatch_lines(["*vercel: GET /v2/nope: no such endpoint*"])
