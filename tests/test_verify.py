"""`dream-pixel-setup verify` against a real local website (tests/fakes/site.py)."""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import io
import ipaddress
import json
import re
import socket
import ssl
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.fakes.site import GOOD_HEADERS, STATIC_CSS, STATIC_JS, FakeSite, good_site
from wizard import cli_verify
from wizard.verify import (
    RATE_LIMIT_MAX_REQUESTS,
    CheckResult,
    VerifyReport,
    VerifyUrlError,
    parse_target,
    render_text,
    run_checks,
)

ANSI = re.compile(r"\x1b\[")
HEADER_IDS = [
    "header:strict-transport-security",
    "header:x-content-type-options",
    "header:x-frame-options",
    "header:content-security-policy",
]


@pytest.fixture
def site() -> Iterator[FakeSite]:
    with good_site() as s:
        yield s


def namespace(url: str | None, **kw: Any) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    cli_verify.configure_parser(parser)
    args = parser.parse_args(["--json"] + (["--url", url] if url else []))
    for key, value in kw.items():
        setattr(args, key, value)
    return args


def verify_json(
    capsys: pytest.CaptureFixture[str],
    url: str | None,
    *,
    expect_cloudflare: bool = False,
    **kw: Any,
) -> tuple[int, dict[str, Any]]:
    code = cli_verify.run(namespace(url, **kw), None, expect_cloudflare)
    out = capsys.readouterr()
    assert "Traceback" not in out.err
    return code, json.loads(out.out)


def by_id(doc: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {c["id"]: c for c in doc["checks"]}


def check(report: VerifyReport, cid: str) -> CheckResult:
    return next(c for c in report.checks if c.id == cid)


# -- the happy path -------------------------------------------------------------------


def test_good_site_passes_with_exit_0(site: FakeSite, capsys: pytest.CaptureFixture[str]) -> None:
    code, doc = verify_json(capsys, site.url)
    assert code == 0
    assert doc["url"] == site.url
    checks = by_id(doc)
    for cid in [
        "health",
        *HEADER_IDS,
        "caching:static-assets",
        "caching:api",
        "route:stripe-webhook",
    ]:
        assert checks[cid]["status"] == "pass", checks[cid]
    # Plain-http loopback: no TLS to check; no cloudflare step; no rate-limit flag.
    for cid in ["https:redirect", "https:certificate", "cdn:cloudflare", "rate-limit"]:
        assert checks[cid]["status"] == "skipped", checks[cid]
    assert re.search(r"in \d+\.\d\d s", checks["health"]["detail"])
    assert {set(c) >= {"id", "status", "detail"} for c in doc["checks"]} == {True}


def test_good_site_gets_a_few_requests_each_and_an_unsigned_webhook(site: FakeSite) -> None:
    asyncio.run(run_checks(site.url))
    assert site.count("/") == 1
    assert site.count("/api/health") == 1
    assert site.count(STATIC_CSS) + site.count(STATIC_JS) == 1
    assert site.count("/api/webhooks/stripe", "POST") == 1
    assert site.total == 4
    (hook,) = [h for h in site.hits if h.method == "POST"]
    assert "stripe-signature" not in hook.headers


def test_human_output_without_color_has_no_ansi(site: FakeSite) -> None:
    site.default_headers.pop("X-Content-Type-Options")
    report = asyncio.run(run_checks(site.url))
    plain = render_text(report, color=False)
    assert not ANSI.search(plain)
    assert ANSI.search(render_text(report, color=True))
    lines = plain.splitlines()
    fail_at = next(i for i, line in enumerate(lines) if "✗" in line)
    assert "X-Content-Type-Options" in lines[fail_at]
    assert lines[fail_at + 1].strip().startswith("→") and "nosniff" in lines[fail_at + 1]
    assert sum("✓" in line for line in lines) >= 7
    assert sum("\u2013" in line for line in lines) == 4  # skipped: en dash


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_color_only_on_a_terminal_without_no_color(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.delenv("TERM", raising=False)
    assert cli_verify.use_color(_Terminal())
    assert not cli_verify.use_color(io.StringIO())
    monkeypatch.setenv("NO_COLOR", "1")
    assert not cli_verify.use_color(_Terminal())


def test_cli_human_output_respects_no_color(
    site: FakeSite, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NO_COLOR", "1")
    code = cli_verify.run(namespace(site.url, json=False), None, False)
    out = capsys.readouterr().out
    assert code == 0
    assert out.startswith(f"Verifying {site.url}")
    assert not ANSI.search(out)
    assert "0 failed" in out


# -- security headers -----------------------------------------------------------------


def _drop(name: str) -> Any:
    return lambda s: s.default_headers.pop(name)


def _set(name: str, value: str) -> Any:
    return lambda s: s.default_headers.__setitem__(name, value)


def _csp_without_frame_ancestors_or_xfo(s: FakeSite) -> None:
    s.default_headers.pop("X-Frame-Options")
    s.default_headers["Content-Security-Policy"] = "default-src 'self'"


def _report_only_csp(s: FakeSite) -> None:
    csp = s.default_headers.pop("Content-Security-Policy")
    s.default_headers["Content-Security-Policy-Report-Only"] = csp
    s.default_headers["X-Frame-Options"] = "DENY"


@pytest.mark.parametrize(
    ("mutate", "failing", "words"),
    [
        (_drop("Strict-Transport-Security"), "header:strict-transport-security", "missing"),
        (
            _set("Strict-Transport-Security", "max-age=86400"),
            "header:strict-transport-security",
            "86400",
        ),
        (
            _set("Strict-Transport-Security", "includeSubDomains"),
            "header:strict-transport-security",
            "max-age",
        ),
        (_drop("X-Content-Type-Options"), "header:x-content-type-options", "missing"),
        (_set("X-Content-Type-Options", "sniff"), "header:x-content-type-options", "nosniff"),
        (_csp_without_frame_ancestors_or_xfo, "header:x-frame-options", "missing"),
        (
            _set("X-Frame-Options", "ALLOW-FROM https://a.example"),
            "header:x-frame-options",
            "ALLOW-FROM",
        ),
        (_drop("Content-Security-Policy"), "header:content-security-policy", "missing"),
        (_report_only_csp, "header:content-security-policy", "Report-Only"),
        (
            _set("Content-Security-Policy", "upgrade-insecure-requests"),
            "header:content-security-policy",
            "default-src",
        ),
    ],
    ids=[
        "hsts-missing",
        "hsts-short",
        "hsts-no-max-age",
        "nosniff-missing",
        "nosniff-wrong",
        "frame-missing",
        "xfo-allow-from",
        "csp-missing",
        "csp-report-only",
        "csp-weak",
    ],
)
def test_each_missing_or_weak_header_is_reported_by_name(
    site: FakeSite, capsys: pytest.CaptureFixture[str], mutate: Any, failing: str, words: str
) -> None:
    # The ALLOW-FROM case needs the CSP fallback gone too, or frame-ancestors covers it.
    if failing == "header:x-frame-options":
        site.default_headers["Content-Security-Policy"] = "default-src 'self'"
    mutate(site)
    code, doc = verify_json(capsys, site.url)
    assert code == 1
    checks = by_id(doc)
    assert checks[failing]["status"] == "fail"
    assert words.lower() in checks[failing]["detail"].lower()
    assert checks[failing]["fix"]
    assert [c["id"] for c in doc["checks"] if c["status"] == "fail"] == [failing]


def test_frame_ancestors_in_csp_stands_in_for_x_frame_options(site: FakeSite) -> None:
    site.default_headers.pop("X-Frame-Options")
    report = asyncio.run(run_checks(site.url))
    result = check(report, "header:x-frame-options")
    assert result.status == "pass" and "frame-ancestors" in result.detail
    site.default_headers["Content-Security-Policy"] = "default-src 'self'; frame-ancestors *"
    assert check(asyncio.run(run_checks(site.url)), "header:x-frame-options").status == "fail"


# -- caching --------------------------------------------------------------------------


def test_static_asset_with_a_short_cache_policy_fails(
    site: FakeSite, capsys: pytest.CaptureFixture[str]
) -> None:
    for path in (STATIC_CSS, STATIC_JS):
        site.routes[("GET", path)].headers["Cache-Control"] = "public, max-age=3600"
    code, doc = verify_json(capsys, site.url)
    assert code == 1
    result = by_id(doc)["caching:static-assets"]
    assert result["status"] == "fail"
    assert "max-age=3600" in result["detail"] and "/_next/static/" in result["detail"]


def test_no_static_asset_in_the_html_is_skipped_with_why(site: FakeSite) -> None:
    site.routes[("GET", "/")].body = "<html><body>no scripts</body></html>"
    report = asyncio.run(run_checks(site.url))
    result = check(report, "caching:static-assets")
    assert result.status == "skipped" and "/_next/static/" in result.detail
    assert not report.failed


def test_api_response_without_no_store_fails(site: FakeSite) -> None:
    site.routes[("GET", "/api/health")].headers["Cache-Control"] = "public, max-age=60"
    report = asyncio.run(run_checks(site.url))
    result = check(report, "caching:api")
    assert result.status == "fail" and "max-age=60" in result.detail and "no-store" in result.detail


# -- health ---------------------------------------------------------------------------


def test_missing_health_route_fails(site: FakeSite, capsys: pytest.CaptureFixture[str]) -> None:
    site.remove("/api/health")
    code, doc = verify_json(capsys, site.url)
    assert code == 1
    checks = by_id(doc)
    assert checks["health"]["status"] == "fail"
    assert "/api/health" in checks["health"]["detail"] and "404" in checks["health"]["detail"]
    assert checks["caching:api"]["status"] == "skipped"
    assert site.count("/api/health") == 1  # no retries


def test_slow_health_route_fails_with_the_time(
    site: FakeSite, capsys: pytest.CaptureFixture[str]
) -> None:
    site.routes[("GET", "/api/health")].delay = 5.0
    start = time.perf_counter()
    code, doc = verify_json(capsys, site.url, timeout=0.3)
    assert time.perf_counter() - start < 3.0
    assert code == 1
    health = by_id(doc)["health"]
    assert health["status"] == "fail"
    assert "0.30 s" in health["detail"]
    assert site.count("/api/health") == 1


def test_health_server_error_fails_once(site: FakeSite) -> None:
    site.routes[("GET", "/api/health")].status = 503
    report = asyncio.run(run_checks(site.url))
    assert check(report, "health").status == "fail" and "503" in check(report, "health").detail
    assert site.count("/api/health") == 1


# -- Stripe webhook route -------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "words"),
    [(None, "route missing"), (200, "accepted an unsigned webhook"), (500, "500"), (405, "POST")],
    ids=["missing", "accepts-unsigned", "server-error", "no-post-handler"],
)
def test_webhook_route_problems_are_named(
    site: FakeSite, capsys: pytest.CaptureFixture[str], status: int | None, words: str
) -> None:
    if status is None:
        site.remove("/api/webhooks/stripe", "POST")
    else:
        site.routes[("POST", "/api/webhooks/stripe")].status = status
    code, doc = verify_json(capsys, site.url)
    assert code == 1
    result = by_id(doc)["route:stripe-webhook"]
    assert result["status"] == "fail"
    assert "/api/webhooks/stripe" in result["detail"] and words in result["detail"]


# -- rate limiting --------------------------------------------------------------------


def test_rate_limit_stops_at_the_first_429(
    site: FakeSite, capsys: pytest.CaptureFixture[str]
) -> None:
    site.routes[("GET", "/api/health")].limit = 100
    code, doc = verify_json(capsys, site.url, check_rate_limit=True)
    assert code == 0
    result = by_id(doc)["rate-limit"]
    assert result["status"] == "pass" and "429" in result["detail"] and "101" in result["detail"]
    assert site.count("/api/health") == 101


def test_rate_limit_sends_at_most_110_requests(
    site: FakeSite, capsys: pytest.CaptureFixture[str]
) -> None:
    code, doc = verify_json(capsys, site.url, check_rate_limit=True)
    assert code == 1
    result = by_id(doc)["rate-limit"]
    assert result["status"] == "fail" and "429" in result["detail"]
    assert site.count("/api/health") == RATE_LIMIT_MAX_REQUESTS == 110


def test_rate_limit_sends_nothing_without_the_flag(
    site: FakeSite, capsys: pytest.CaptureFixture[str]
) -> None:
    site.routes[("GET", "/api/health")].limit = 100
    code, doc = verify_json(capsys, site.url)
    assert code == 0
    assert by_id(doc)["rate-limit"]["status"] == "skipped"
    assert site.count("/api/health") == 1  # only the health check's own request


# -- Cloudflare -----------------------------------------------------------------------


def test_cloudflare_expected_and_present_or_absent(
    site: FakeSite, capsys: pytest.CaptureFixture[str]
) -> None:
    code, doc = verify_json(capsys, site.url, expect_cloudflare=True)
    assert code == 1
    assert by_id(doc)["cdn:cloudflare"]["status"] == "fail"
    assert "cf-ray" in by_id(doc)["cdn:cloudflare"]["detail"]
    site.default_headers.update({"cf-ray": "8a1b2c3d4e5f-AMS", "Server": "cloudflare"})
    code, doc = verify_json(capsys, site.url, expect_cloudflare=True)
    assert code == 0
    assert by_id(doc)["cdn:cloudflare"]["status"] == "pass"


# -- URLs and unreachable sites -------------------------------------------------------


def test_no_url_at_all(capsys: pytest.CaptureFixture[str]) -> None:
    args = namespace(None)
    assert cli_verify.run(args, None, False) == 1
    out = capsys.readouterr()
    assert out.err.strip() == "verify: no URL: pass --url or set NEXTAUTH_URL in .env.<environment>"
    assert out.out == ""


def test_default_url_is_used(site: FakeSite, capsys: pytest.CaptureFixture[str]) -> None:
    args = namespace(None)
    assert cli_verify.run(args, site.url + "/api/auth", False) == 0
    assert json.loads(capsys.readouterr().out)["url"] == site.url


@pytest.mark.parametrize(
    ("url", "words"),
    [
        ("http://example.com", "https"),
        ("ftp://127.0.0.1/", "https"),
        ("example.com", "scheme"),
        ("https://user:hunter2@example.com", "password"),
        ("https://127.0.0.1:99999", "port"),
    ],
)
def test_bad_urls_are_one_clean_line(
    capsys: pytest.CaptureFixture[str], url: str, words: str
) -> None:
    assert cli_verify.run(namespace(url), None, False) == 1
    out = capsys.readouterr()
    assert out.out == ""
    assert len(out.err.strip().splitlines()) == 1 and out.err.startswith("verify: ")
    assert words in out.err.lower() and "hunter2" not in out.err and "Traceback" not in out.err


@pytest.mark.parametrize(
    "url", ["http://localhost:3000", "http://127.0.0.2", "http://[::1]:8080/x"]
)
def test_plain_http_is_allowed_to_loopback(url: str) -> None:
    assert parse_target(url).scheme == "http"


def test_loopback_check_covers_the_whole_127_block() -> None:
    assert parse_target("http://127.255.0.1").host == "127.255.0.1"
    with pytest.raises(VerifyUrlError):
        parse_target("http://10.0.0.1")


def test_connection_refused_is_a_failed_check(capsys: pytest.CaptureFixture[str]) -> None:
    # A bound socket that never listens: connecting is refused, and nobody else gets the port.
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{sock.getsockname()[1]}"
        code, doc = verify_json(capsys, url)
    assert code == 1
    checks = by_id(doc)
    assert checks["health"]["status"] == "fail"
    assert "connection refused" in checks["health"]["detail"]
    assert checks["route:stripe-webhook"]["status"] == "fail"


# -- TLS and the http → https redirect ------------------------------------------------


PROXY_VARS = ("HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy", "HTTP_PROXY", "http_proxy")


@pytest.fixture
def no_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    """https URLs honour the environment (proxies, SSL_CERT_FILE): keep loopback traffic local."""
    for name in PROXY_VARS:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("NO_PROXY", "*")


def _tls_server_context(tmp_path: Path, *, days_left: int) -> tuple[ssl.SSLContext, Path]:
    """A self-signed certificate for 127.0.0.1; returns the server context and the cert file."""
    x509 = pytest.importorskip("cryptography.x509")
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "dream-pixel test CA")])
    now = dt.datetime.now(dt.UTC)
    san = x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))])
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=days_left, hours=12))
        .add_extension(san, critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert_file, key_file)
    return ctx, cert_file


@pytest.mark.usefixtures("no_proxy")
def test_untrusted_certificate_fails_by_name(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ctx, _ = _tls_server_context(tmp_path, days_left=30)
    with good_site(tls=ctx) as site:
        code, doc = verify_json(capsys, site.url)
    assert code == 1
    checks = by_id(doc)
    assert checks["https:certificate"]["status"] == "fail"
    assert "certificate" in checks["https:certificate"]["detail"]
    # A URL with its own port has no http:// twin to probe (and port 80 is never touched).
    assert checks["https:redirect"]["status"] == "skipped"


@pytest.mark.usefixtures("no_proxy")
@pytest.mark.parametrize(("days_left", "status"), [(60, "pass"), (5, "fail")])
def test_trusted_certificate_reports_its_expiry(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, days_left: int, status: str
) -> None:
    ctx, cert_file = _tls_server_context(tmp_path, days_left=days_left)
    monkeypatch.setenv("SSL_CERT_FILE", str(cert_file))  # httpx trusts it (trust_env)
    with good_site(tls=ctx) as site:
        report = asyncio.run(run_checks(site.url))
    result = check(report, "https:certificate")
    assert result.status == status
    assert f"({days_left} days" in result.detail or f"in {days_left} days" in result.detail
    assert check(report, "health").status == "pass"
    assert check(report, "header:strict-transport-security").status == "pass"


def _https_site(http_answer: httpx.Response) -> httpx.MockTransport:
    """The https side of a production site, in-process: nothing leaves this test."""

    def handle(request: httpx.Request) -> httpx.Response:
        if request.url.scheme == "http":
            return http_answer
        headers = dict(GOOD_HEADERS)
        path = request.url.path
        if path == "/":
            return httpx.Response(200, headers=headers, text=f'<script src="{STATIC_JS}"></script>')
        if path == STATIC_JS:
            return httpx.Response(
                200, headers={"Cache-Control": "public, max-age=31536000, immutable"}
            )
        if path == "/api/health":
            return httpx.Response(200, headers={"Cache-Control": "no-store"}, json={"ok": True})
        if path == "/api/webhooks/stripe":
            return httpx.Response(400, json={"error": "no signature"})
        return httpx.Response(404)

    return httpx.MockTransport(handle)


@pytest.mark.parametrize(
    ("answer", "status", "words"),
    [
        (httpx.Response(308, headers={"Location": "https://dream.example/"}), "pass", "308"),
        (httpx.Response(301, headers={"Location": "https://www.dream.example/"}), "pass", "301"),
        (httpx.Response(302, headers={"Location": "https://dream.example/"}), "fail", "temporary"),
        (httpx.Response(200, text="hello over http"), "fail", "without redirecting"),
    ],
    ids=["308", "301-to-www", "302", "no-redirect"],
)
def test_http_to_https_redirect(answer: httpx.Response, status: str, words: str) -> None:
    report = asyncio.run(run_checks("https://dream.example", transport=_https_site(answer)))
    result = check(report, "https:redirect")
    assert result.status == status and words in result.detail
    assert check(report, "https:certificate").status == "pass"
    assert check(report, "health").status == "pass"
