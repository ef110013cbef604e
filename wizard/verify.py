"""Post-deployment checks against the live site (the guide's "Post-Deployment Checklist").

UI-free: ``run_checks`` talks HTTP (httpx, async) and returns a ``VerifyReport``; the CLI
(``wizard/cli_verify.py``) and the Textual Done screen only render it. Every request is
bounded by a total timeout, never retried, and a check sends at most a few requests (the
opt-in rate-limit probe is the one exception, capped at ``RATE_LIMIT_MAX_REQUESTS``).
Network failures become failed checks with a one-line reason, never exceptions; only a
URL we refuse to contact raises (``VerifyUrlError``).
"""

from __future__ import annotations

import asyncio
import html
import re
import ssl
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Literal
from urllib.parse import urlsplit

import httpx

from providers.urls import ambiguous_url, is_loopback_host, no_proxy_mounts

Status = Literal["pass", "fail", "skipped"]

DEFAULT_TIMEOUT = 5.0  # seconds: the health budget and each request's total limit
CONNECT_TIMEOUT = 5.0
HSTS_MIN_MAX_AGE = 31_536_000  # one year, the guide's and the HSTS preload list's floor
STATIC_MIN_MAX_AGE = 31_536_000
CERT_WARN_DAYS = 14
RATE_LIMIT_MAX_REQUESTS = 110  # the guide's limit is 100 per 15 minutes per IP
HEALTH_PATH = "/api/health"
WEBHOOK_PATH = "/api/webhooks/stripe"
MAX_HOME_BYTES = 2_000_000  # enough for any real home page; bounds a misbehaving one
MAX_HOME_REDIRECTS = 3
USER_AGENT = "dream-pixel-setup-verify"
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
PERMANENT_REDIRECTS = frozenset({301, 308})

_STATIC_REF = re.compile(r"""(?:src|href)\s*=\s*["']?([^"'\s>]*?/_next/static/[^"'\s>]+)""", re.I)
_UNPRINTABLE = re.compile(r"[\x00-\x1f\x7f-\x9f]")


class VerifyUrlError(ValueError):
    """The URL is malformed, or one we refuse to contact (plain http off loopback)."""


@dataclass(frozen=True)
class CheckResult:
    id: str
    title: str
    status: Literal["pass", "fail", "skipped"]
    detail: str
    fix: str = ""


@dataclass
class VerifyReport:
    url: str
    checks: list[CheckResult] = field(default_factory=list)

    @property
    def failed(self) -> bool:
        return any(c.status == "fail" for c in self.checks)

    def to_json(self) -> dict[str, object]:
        return {
            "url": self.url,
            "checks": [
                {"id": c.id, "title": c.title, "status": c.status, "detail": c.detail, "fix": c.fix}
                for c in self.checks
            ],
        }


# -- URLs -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Target:
    """The site's origin; NEXTAUTH_URL may carry a path, but the routes live at the root."""

    scheme: str
    host: str
    port: int | None

    @property
    def netloc(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return host if self.port is None else f"{host}:{self.port}"

    @property
    def origin(self) -> str:
        return f"{self.scheme}://{self.netloc}"

    @property
    def plain_loopback(self) -> bool:
        return self.scheme == "http"


def parse_target(url: str) -> Target:
    """Validate ``url`` and return its origin, or raise VerifyUrlError (message safe to print)."""
    text = url.strip()
    if "://" not in text:
        raise VerifyUrlError(
            f"bad URL {_clip(text, 80)!r}: give the scheme too, e.g. https://your-domain.com"
        )
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError as exc:
        # urlsplit's messages ("Port out of range 0-65535") never include the URL itself.
        raise VerifyUrlError(f"bad URL: {str(exc).lower()}") from None
    if parts.username is not None or parts.password is not None:
        # Never echo it: the part before @ may be a password.
        raise VerifyUrlError("the URL must not contain a user name or password")
    if reason := ambiguous_url(text):
        raise VerifyUrlError(f"refusing the URL: {reason}")
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower()
    if not host:
        raise VerifyUrlError(f"bad URL {_clip(text, 80)!r}: no host name")
    if scheme not in ("http", "https"):
        raise VerifyUrlError(f"bad URL {_clip(text, 80)!r}: only https:// URLs can be verified")
    if scheme == "http" and not is_loopback_host(host):
        raise VerifyUrlError(
            f"refusing plain http:// for {host}: use https:// "
            "(plain http is only for loopback test servers)"
        )
    if (scheme, port) in (("https", 443), ("http", 80)):
        port = None
    target = Target(scheme, host, port)
    try:
        httpx.URL(target.origin)
    except (httpx.InvalidURL, UnicodeError) as exc:
        raise VerifyUrlError(f"bad URL {_clip(text, 80)!r}: {exc}") from None
    return target


def _allowed(url: httpx.URL) -> bool:
    """Redirects and asset links are followed only under the same rule as the URL itself."""
    return url.scheme == "https" or (url.scheme == "http" and is_loopback_host(url.host))


# -- requests ---------------------------------------------------------------------------


@dataclass(frozen=True)
class _Seen:
    status: int
    headers: httpx.Headers
    url: httpx.URL
    elapsed: float
    body: bytes = b""
    cert_expires: datetime | None = None


@dataclass(frozen=True)
class _Failed:
    error: str  # one line, safe to print
    elapsed: float
    timed_out: bool = False


_Outcome = _Seen | _Failed


class _Probe:
    """One client per run; counts requests per URL so the rate-limit probe keeps its cap."""

    def __init__(self, client: httpx.AsyncClient, target: Target, timeout: float) -> None:
        self.client = client
        self.target = target
        self.timeout = timeout
        self.sent: Counter[str] = Counter()

    def url(self, path: str) -> str:
        return self.target.origin + path

    async def send(
        self,
        method: str,
        url: str | httpx.URL,
        *,
        body_limit: int = 0,
        json_body: object = None,
    ) -> _Outcome:
        self.sent[str(url)] += 1
        start = time.perf_counter()
        try:
            # A total limit on top of httpx's per-operation ones: a server dripping bytes
            # would otherwise never trip a read timeout.
            async with asyncio.timeout(self.timeout):
                request = self.client.build_request(method, url, json=json_body)
                response = await self.client.send(request, stream=True)
                try:
                    body = await _read_limited(response, body_limit)
                    expires = _cert_expiry(response)
                finally:
                    await response.aclose()
        except (TimeoutError, httpx.TimeoutException):
            return _Failed(
                f"no answer within {_secs(self.timeout)}",
                time.perf_counter() - start,
                timed_out=True,
            )
        except (httpx.HTTPError, httpx.InvalidURL, httpx.StreamError, OSError, UnicodeError) as exc:
            return _Failed(_describe(exc), time.perf_counter() - start)
        return _Seen(
            status=response.status_code,
            headers=response.headers,
            url=response.url,
            elapsed=time.perf_counter() - start,
            body=body,
            cert_expires=expires,
        )


async def _read_limited(response: httpx.Response, limit: int) -> bytes:
    if limit <= 0:
        return b""
    chunks: list[bytes] = []
    size = 0
    async for chunk in response.aiter_bytes():
        chunks.append(chunk)
        size += len(chunk)
        if size >= limit:
            break
    return b"".join(chunks)[:limit]


def _cert_expiry(response: httpx.Response) -> datetime | None:
    stream = response.extensions.get("network_stream")
    if stream is None:
        return None
    try:
        ssl_object = stream.get_extra_info("ssl_object")
        cert = ssl_object.getpeercert() if ssl_object is not None else None
        not_after = cert.get("notAfter") if cert else None
        if not isinstance(not_after, str):
            return None
        return datetime.fromtimestamp(ssl.cert_time_to_seconds(not_after), tz=UTC)
    except (AttributeError, ValueError, OSError):
        return None


def _causes(exc: BaseException) -> list[BaseException]:
    chain: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and current not in chain and len(chain) < 10:
        chain.append(current)
        current = current.__cause__ or current.__context__
    return chain


def _tls_error(exc: BaseException) -> str | None:
    for cause in _causes(exc):
        if isinstance(cause, ssl.SSLCertVerificationError):
            return f"certificate not valid: {cause.verify_message or cause.reason}"
        if isinstance(cause, ssl.SSLError):
            return f"TLS handshake failed: {cause.reason or cause}"
    text = str(exc)
    if "CERTIFICATE_VERIFY_FAILED" in text:
        return f"certificate not valid: {_first_line(text)}"
    return None


def _describe(exc: BaseException) -> str:
    tls = _tls_error(exc)
    if tls:
        return tls
    for cause in _causes(exc):
        if isinstance(cause, ConnectionRefusedError) or "connection refused" in str(cause).lower():
            return "connection refused"
        if "name or service not known" in str(cause).lower() or "nodename nor servname" in str(
            cause
        ):
            return "host name not found (DNS)"
    if isinstance(exc, httpx.RemoteProtocolError):
        return f"the server broke the connection: {_first_line(str(exc))}"
    text = _first_line(str(exc))
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


# -- small helpers ----------------------------------------------------------------------


def _first_line(text: str) -> str:
    return _clip(text.strip().splitlines()[0] if text.strip() else "", 160)


def _clip(text: str, limit: int = 120) -> str:
    """Server-sent text is untrusted: no control characters (ANSI), bounded length."""
    text = _UNPRINTABLE.sub("?", text)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _secs(seconds: float) -> str:
    return f"{seconds:.2f} s"


def _directives(value: str, separator: str) -> dict[str, str]:
    """``a=1, b, c="x"`` → {"a": "1", "b": "", "c": "x"}; names lower-cased, first wins."""
    out: dict[str, str] = {}
    for part in value.split(separator):
        name, _, arg = part.strip().partition("=")
        name = name.strip().lower()
        if name and name not in out:
            out[name] = arg.strip().strip('"')
    return out


def _csp_policies(values: list[str]) -> list[dict[str, list[str]]]:
    """Each header value (and each comma-joined one) is a separate, all-enforced policy."""
    policies: list[dict[str, list[str]]] = []
    for value in values:
        for policy_text in value.split(","):
            policy: dict[str, list[str]] = {}
            for directive in policy_text.split(";"):
                tokens = directive.split()
                if tokens and tokens[0].lower() not in policy:
                    policy[tokens[0].lower()] = tokens[1:]
            if policy:
                policies.append(policy)
    return policies


def _check(id: str, title: str, status: Status, detail: str, fix: str = "") -> CheckResult:
    return CheckResult(
        id=id, title=title, status=status, detail=detail, fix=fix if status == "fail" else ""
    )


# -- checks -----------------------------------------------------------------------------

_HEALTH_TITLE = "Health endpoint"
_FIX_HEADERS = "Set it in next.config.mjs headers() for source '/(.*)' and redeploy: "


def _health_check(outcome: _Outcome, budget: float) -> CheckResult:
    def fail(detail: str, fix: str) -> CheckResult:
        return _check("health", _HEALTH_TITLE, "fail", f"GET {HEALTH_PATH}: {detail}", fix)

    logs = "Look at the function logs (vercel logs <deployment-url>)."
    if isinstance(outcome, _Failed):
        if outcome.timed_out:
            return fail(
                f"no answer within {_secs(budget)}",
                "The health route must answer within 5 s: check what it awaits (database, "
                f"Redis) and that those services are up. {logs}",
            )
        return fail(
            outcome.error,
            "Check the URL (NEXTAUTH_URL), the domain's DNS records and that the deployment "
            "is live (vercel list).",
        )
    status = outcome.status
    if 200 <= status < 300 and outcome.elapsed <= budget:
        return _check(
            "health",
            _HEALTH_TITLE,
            "pass",
            f"GET {HEALTH_PATH} → {status} in {_secs(outcome.elapsed)}",
        )
    if 200 <= status < 300:
        return fail(f"{status} but took {_secs(outcome.elapsed)} (limit {_secs(budget)})", logs)
    if status == 404:
        return fail(
            "404, route missing",
            f"Deploy a GET handler at app/api/health/route.ts answering 200. {logs}",
        )
    if status in REDIRECT_STATUSES:
        where = _clip(outcome.headers.get("location", "?"))
        return fail(
            f"{status} redirect to {where}",
            "Verify the canonical URL: set NEXTAUTH_URL (or pass --url) to the address the site "
            "redirects to.",
        )
    return fail(f"answered {status} in {_secs(outcome.elapsed)}", logs)


_REDIRECT_TITLE = "HTTP → HTTPS redirect"
_REDIRECT_FIX = (
    "Vercel redirects http:// to https:// with 308 by itself; behind Cloudflare turn on "
    "SSL/TLS → Edge Certificates → Always Use HTTPS, with SSL/TLS mode Full (strict)."
)


async def _https_redirect_check(probe: _Probe) -> CheckResult:
    cid = "https:redirect"
    target = probe.target
    if target.plain_loopback:
        return _check(cid, _REDIRECT_TITLE, "skipped", "plain http on loopback: no TLS to check")
    if target.port is not None:
        return _check(
            cid,
            _REDIRECT_TITLE,
            "skipped",
            f"the URL names port {target.port}: no http:// twin to probe",
        )
    http_url = f"http://{target.netloc}/"
    outcome = await probe.send("GET", http_url)
    if isinstance(outcome, _Failed):
        return _check(cid, _REDIRECT_TITLE, "fail", f"{http_url}: {outcome.error}", _REDIRECT_FIX)
    location = outcome.headers.get("location")
    if outcome.status in REDIRECT_STATUSES and location:
        dest = outcome.url.join(location)
        shown = _clip(str(dest))
        if dest.scheme != "https":
            return _check(
                cid,
                _REDIRECT_TITLE,
                "fail",
                f"{http_url} → {outcome.status} to {shown}, not https",
                _REDIRECT_FIX,
            )
        if outcome.status not in PERMANENT_REDIRECTS:
            return _check(
                cid,
                _REDIRECT_TITLE,
                "fail",
                f"{http_url} → {outcome.status} (temporary) to {shown}; expected 301 or 308",
                _REDIRECT_FIX,
            )
        return _check(cid, _REDIRECT_TITLE, "pass", f"{http_url} → {outcome.status} to {shown}")
    return _check(
        cid,
        _REDIRECT_TITLE,
        "fail",
        f"{http_url} answered {outcome.status} without redirecting to https://",
        _REDIRECT_FIX,
    )


_CERT_TITLE = "TLS certificate"


def _certificate_check(target: Target, first: _Outcome) -> CheckResult:
    cid = "https:certificate"
    if target.plain_loopback:
        return _check(cid, _CERT_TITLE, "skipped", "plain http on loopback: no TLS to check")
    fix = (
        "Vercel issues and renews the certificate once the domain's DNS points at it: "
        f"run `vercel domains inspect {target.host}`; behind Cloudflare use SSL/TLS Full (strict)."
    )
    if isinstance(first, _Failed):
        return _check(cid, _CERT_TITLE, "fail", f"{target.origin}: {first.error}", fix)
    if first.cert_expires is None:
        return _check(cid, _CERT_TITLE, "pass", "valid (verified during the TLS handshake)")
    days = (first.cert_expires - datetime.now(UTC)).days
    when = first.cert_expires.date().isoformat()
    if days < CERT_WARN_DAYS:
        return _check(cid, _CERT_TITLE, "fail", f"valid but expires {when} (in {days} days)", fix)
    return _check(cid, _CERT_TITLE, "pass", f"valid until {when} ({days} days)")


@dataclass(frozen=True)
class _Home:
    first: _Outcome  # the origin's own answer (certificate, CDN)
    final: _Outcome  # after same-rule redirects (headers, HTML)
    note: str = ""


async def _fetch_home(probe: _Probe) -> _Home:
    url: httpx.URL = httpx.URL(probe.url("/"))
    first: _Outcome | None = None
    note = ""
    outcome: _Outcome
    for hop in range(MAX_HOME_REDIRECTS + 1):
        outcome = await probe.send("GET", url, body_limit=MAX_HOME_BYTES)
        if first is None:
            first = outcome
        if isinstance(outcome, _Failed) or outcome.status not in REDIRECT_STATUSES:
            break
        location = outcome.headers.get("location")
        if not location or hop == MAX_HOME_REDIRECTS:
            break
        nxt = outcome.url.join(location)
        if not _allowed(nxt):
            note = f" (not following redirect to {_clip(str(nxt))})"
            break
        url = nxt
    if outcome is not first and isinstance(outcome, _Seen):
        note = note or f" (after redirect to {_clip(str(outcome.url))})"
    assert first is not None
    return _Home(first=first, final=outcome, note=note)


def _header_checks(home: _Home) -> list[CheckResult]:
    specs = [
        ("header:strict-transport-security", "Strict-Transport-Security"),
        ("header:x-content-type-options", "X-Content-Type-Options"),
        ("header:x-frame-options", "X-Frame-Options / frame-ancestors"),
        ("header:content-security-policy", "Content-Security-Policy"),
    ]
    final = home.final
    if isinstance(final, _Failed):
        return [
            _check(
                cid,
                title,
                "fail",
                f"could not fetch the home page: {final.error}",
                "Fix the site's reachability first (see health).",
            )
            for cid, title in specs
        ]
    prefix = "" if final.status < 400 else f"home page answered {final.status}; "
    results = [
        _hsts_check(final.headers),
        _nosniff_check(final.headers),
        _frame_check(final.headers),
        _csp_check(final.headers),
    ]
    out = []
    for (cid, title), (status, detail, fix) in zip(specs, results, strict=True):
        text = detail if status == "pass" else prefix + detail
        out.append(_check(cid, title, status, text + home.note, fix))
    return out


_Verdict = tuple[Status, str, str]


def _hsts_check(headers: httpx.Headers) -> _Verdict:
    fix = _FIX_HEADERS + "Strict-Transport-Security: max-age=63072000; includeSubDomains; preload"
    values = headers.get_list("strict-transport-security")
    if not values:
        return "fail", "Strict-Transport-Security missing", fix
    # Browsers honour only the first header.
    value = values[0]
    max_age = _directives(value, ";").get("max-age", "")
    if not max_age.isdigit():
        return "fail", f"Strict-Transport-Security: {_clip(value)!r} has no valid max-age", fix
    if int(max_age) < HSTS_MIN_MAX_AGE:
        return (
            "fail",
            f"Strict-Transport-Security max-age={max_age} is under one year ({HSTS_MIN_MAX_AGE})",
            fix,
        )
    return "pass", f"Strict-Transport-Security: {_clip(value)}", ""


def _nosniff_check(headers: httpx.Headers) -> _Verdict:
    fix = _FIX_HEADERS + "X-Content-Type-Options: nosniff"
    values = headers.get_list("x-content-type-options", split_commas=True)
    if not values:
        return "fail", "X-Content-Type-Options missing", fix
    # Fetch reads only the first value.
    if values[0].strip().lower() != "nosniff":
        return "fail", f"X-Content-Type-Options: {_clip(values[0])!r}, expected nosniff", fix
    return "pass", "X-Content-Type-Options: nosniff", ""


def _frame_check(headers: httpx.Headers) -> _Verdict:
    fix = _FIX_HEADERS + "X-Frame-Options: DENY (or frame-ancestors 'none' in the CSP)"
    xfo = {v.strip().lower() for v in headers.get_list("x-frame-options", split_commas=True)}
    if xfo in ({"deny"}, {"sameorigin"}):
        return "pass", f"X-Frame-Options: {next(iter(xfo)).upper()}", ""
    for policy in _csp_policies(headers.get_list("content-security-policy")):
        sources = policy.get("frame-ancestors")
        if sources is not None and not {"*", "http:", "https:"} & {s.lower() for s in sources}:
            return "pass", f"CSP frame-ancestors {_clip(' '.join(sources)) or '(none)'}", ""
    if not xfo:
        return "fail", "X-Frame-Options missing and no CSP frame-ancestors", fix
    shown = _clip(headers.get("x-frame-options", ""))
    return "fail", f"X-Frame-Options: {shown!r} is not DENY or SAMEORIGIN (browsers ignore it)", fix


def _csp_check(headers: httpx.Headers) -> _Verdict:
    fix = _FIX_HEADERS + (
        "Content-Security-Policy with at least default-src 'self' (allow the Stripe, Sentry "
        "and image hosts the app uses)"
    )
    policies = _csp_policies(headers.get_list("content-security-policy"))
    if not policies:
        if headers.get("content-security-policy-report-only"):
            return (
                "fail",
                "only Content-Security-Policy-Report-Only is sent: nothing is enforced",
                fix,
            )
        return "fail", "Content-Security-Policy missing", fix
    if not any("default-src" in p or "script-src" in p for p in policies):
        return (
            "fail",
            "Content-Security-Policy sets neither default-src nor script-src: "
            "scripts are unrestricted",
            fix,
        )
    names = sorted({name for p in policies for name in p})
    shown = ", ".join(names[:5]) + (f" (+{len(names) - 5} more)" if len(names) > 5 else "")
    return "pass", f"Content-Security-Policy enforced: {_clip(shown)}", ""


_STATIC_TITLE = "Static asset caching"


def _find_static_asset(final: _Seen) -> httpx.URL | None:
    text = final.body.decode("utf-8", errors="replace")
    match = _STATIC_REF.search(text)
    if match is None:
        return None
    return final.url.join(html.unescape(match.group(1)))


async def _static_asset_check(probe: _Probe, home: _Home) -> CheckResult:
    cid = "caching:static-assets"
    final = home.final
    if isinstance(final, _Failed) or not 200 <= final.status < 300:
        why = final.error if isinstance(final, _Failed) else f"answered {final.status}"
        return _check(cid, _STATIC_TITLE, "skipped", f"could not read the home page: {why}")
    asset = _find_static_asset(final)
    if asset is None:
        return _check(
            cid,
            _STATIC_TITLE,
            "skipped",
            "the home page HTML links no /_next/static/ asset to check",
        )
    if not _allowed(asset):
        return _check(cid, _STATIC_TITLE, "skipped", f"not fetching {_clip(str(asset))}: not https")
    where = _clip(asset.path if asset.host == final.url.host else str(asset))
    outcome = await probe.send("GET", asset)
    if isinstance(outcome, _Failed):
        return _check(
            cid,
            _STATIC_TITLE,
            "fail",
            f"{where}: {outcome.error}",
            "Check the deployment's static files.",
        )
    if not 200 <= outcome.status < 300:
        return _check(
            cid,
            _STATIC_TITLE,
            "fail",
            f"{where} answered {outcome.status}",
            "The home page links an asset the deployment does not serve: redeploy, and check "
            "assetPrefix in next.config.mjs.",
        )
    value = outcome.headers.get("cache-control", "")
    d = _directives(value, ",")
    max_age = d.get("max-age", "")
    good = (
        "public" in d
        and "immutable" in d
        and max_age.isdigit()
        and int(max_age) >= STATIC_MIN_MAX_AGE
        and not {"no-store", "no-cache", "private"} & d.keys()
    )
    seen = f"Cache-Control: {_clip(value)}" if value else "no Cache-Control"
    if good:
        return _check(cid, _STATIC_TITLE, "pass", f"{where}: {seen}")
    return _check(
        cid,
        _STATIC_TITLE,
        "fail",
        f"{where}: {seen}; expected public, max-age=31536000, immutable",
        "Next.js sends this for /_next/static itself: remove any Cache-Control override for "
        "/_next/static in next.config.mjs headers() or vercel.json; behind Cloudflare set "
        "Browser Cache TTL to 'Respect Existing Headers'.",
    )


def _api_cache_check(health: _Outcome) -> CheckResult:
    cid, title = "caching:api", "API caching"
    if isinstance(health, _Failed) or not 200 <= health.status < 300:
        return _check(
            cid, title, "skipped", f"no API response to inspect ({HEALTH_PATH} did not answer 2xx)"
        )
    value = health.headers.get("cache-control", "")
    seen = f"Cache-Control: {_clip(value)}" if value else "no Cache-Control"
    if "no-store" in _directives(value, ","):
        return _check(cid, title, "pass", f"{HEALTH_PATH}: {seen}")
    return _check(
        cid,
        title,
        "fail",
        f"{HEALTH_PATH}: {seen}; API responses must be no-store",
        "Send Cache-Control: no-store, must-revalidate for source '/api/(.*)' in "
        "next.config.mjs headers() (or on each API response).",
    )


def _cloudflare_check(home: _Home, expect_cloudflare: bool) -> CheckResult:
    cid, title = "cdn:cloudflare", "Cloudflare CDN"
    if not expect_cloudflare:
        return _check(cid, title, "skipped", "the cloudflare step did not run")
    fix = (
        "In Cloudflare → DNS, set the site's records to Proxied (orange cloud), with SSL/TLS "
        "mode Full (strict); nameservers must be Cloudflare's."
    )
    first = home.first
    if isinstance(first, _Failed):
        return _check(cid, title, "fail", f"could not fetch the home page: {first.error}", fix)
    ray = first.headers.get("cf-ray")
    server = first.headers.get("server", "")
    if ray and server.strip().lower() == "cloudflare":
        return _check(cid, title, "pass", f"cf-ray {_clip(ray, 40)}, server: cloudflare")
    missing = [] if ray else ["no cf-ray header"]
    if server.strip().lower() != "cloudflare":
        missing.append(f"server: {_clip(server, 40)}" if server else "no server header")
    return _check(cid, title, "fail", "not served through Cloudflare: " + ", ".join(missing), fix)


_WEBHOOK_TITLE = "Stripe webhook route"


async def _webhook_check(probe: _Probe) -> CheckResult:
    cid = "route:stripe-webhook"
    # An empty event without a Stripe-Signature header: a correct handler refuses it.
    outcome = await probe.send("POST", probe.url(WEBHOOK_PATH), json_body={})
    route = f"POST {WEBHOOK_PATH}"
    verify_fix = (
        "Verify the Stripe-Signature header with stripe.webhooks.constructEvent(rawBody, "
        "signature, STRIPE_WEBHOOK_SECRET) and answer 400 when it fails."
    )
    if isinstance(outcome, _Failed):
        return _check(
            cid,
            _WEBHOOK_TITLE,
            "fail",
            f"{route}: {outcome.error}",
            "Fix the site's reachability first (see health).",
        )
    status = outcome.status
    if status == 404:
        return _check(
            cid,
            _WEBHOOK_TITLE,
            "fail",
            f"{route} → 404: route missing",
            "Deploy app/api/webhooks/stripe/route.ts with a POST handler; the Stripe endpoint "
            f"points at {probe.url(WEBHOOK_PATH)}.",
        )
    if status == 405:
        # A 4xx, but it means Stripe's own (signed) POSTs would be refused too.
        return _check(
            cid,
            _WEBHOOK_TITLE,
            "fail",
            f"{route} → 405: the route does not accept POST",
            "Export a POST handler from app/api/webhooks/stripe/route.ts.",
        )
    if 400 <= status < 500:
        return _check(
            cid, _WEBHOOK_TITLE, "pass", f"{route} refused an unsigned event with {status}"
        )
    if 200 <= status < 300:
        return _check(
            cid,
            _WEBHOOK_TITLE,
            "fail",
            f"{route} → {status}: accepted an unsigned webhook",
            verify_fix,
        )
    if status in REDIRECT_STATUSES:
        where = _clip(outcome.headers.get("location", "?"))
        return _check(
            cid,
            _WEBHOOK_TITLE,
            "fail",
            f"{route} → {status} redirect to {where}: Stripe does not follow redirects",
            "Point the Stripe endpoint at the canonical URL, and exclude /api/webhooks from "
            "auth and locale middleware.",
        )
    return _check(
        cid,
        _WEBHOOK_TITLE,
        "fail",
        f"{route} → {status}: server error on an unsigned event",
        "Check the function logs (vercel logs): usually STRIPE_WEBHOOK_SECRET is unset, or the "
        "handler throws on a bad signature instead of answering 400. " + verify_fix,
    )


_RATE_TITLE = "Rate limiting"


async def _rate_limit_check(probe: _Probe, health: _Outcome) -> CheckResult:
    cid = "rate-limit"
    if isinstance(health, _Failed) or not 200 <= health.status < 300:
        return _check(
            cid, _RATE_TITLE, "skipped", f"{HEALTH_PATH} does not answer 2xx (see health)"
        )
    fix = (
        "Apply the middleware.ts limiter (100 requests per 15 minutes per IP, stored in "
        "Upstash) to the public API routes, and check UPSTASH_REDIS_REST_URL and "
        "UPSTASH_REDIS_REST_TOKEN in Vercel."
    )
    url = probe.url(HEALTH_PATH)
    start = time.perf_counter()
    # The health check's own request counts towards the cap (and the site's limit).
    while probe.sent[url] < RATE_LIMIT_MAX_REQUESTS:
        outcome = await probe.send("GET", url)
        n = probe.sent[url]
        if isinstance(outcome, _Failed):
            return _check(
                cid, _RATE_TITLE, "fail", f"request {n} to {HEALTH_PATH}: {outcome.error}", fix
            )
        if outcome.status == 429:
            retry = outcome.headers.get("retry-after")
            extra = f", Retry-After: {_clip(retry, 20)}" if retry else ""
            return _check(
                cid,
                _RATE_TITLE,
                "pass",
                f"{HEALTH_PATH} answered 429 at request {n}{extra} "
                "(this IP stays limited until the window ends)",
            )
        if not 200 <= outcome.status < 300:
            return _check(
                cid,
                _RATE_TITLE,
                "fail",
                f"request {n} to {HEALTH_PATH} answered {outcome.status}, not 429",
                fix,
            )
    return _check(
        cid,
        _RATE_TITLE,
        "fail",
        f"{probe.sent[url]} requests to {HEALTH_PATH} in {_secs(time.perf_counter() - start)}, "
        "none answered 429 (policy: 100 per 15 minutes per IP)",
        fix,
    )


# -- entry points -----------------------------------------------------------------------


async def run_checks(
    url: str,
    *,
    check_rate_limit: bool = False,
    expect_cloudflare: bool = False,
    transport: httpx.AsyncBaseTransport | None = None,
    timeout: float = DEFAULT_TIMEOUT,
) -> VerifyReport:
    """Run every check against ``url``'s origin. Raises VerifyUrlError for a refused URL;
    everything the network does becomes a check result."""
    target = parse_target(url)
    client = httpx.AsyncClient(
        transport=transport,
        timeout=httpx.Timeout(timeout, connect=min(CONNECT_TIMEOUT, timeout)),
        follow_redirects=False,
        headers={"user-agent": USER_AGENT},
        # A proxy from the environment must never see loopback traffic.
        mounts=no_proxy_mounts(target.origin),
    )
    async with client:
        probe = _Probe(client, target, timeout)

        async def home_checks() -> tuple[_Home, CheckResult]:
            home = await _fetch_home(probe)
            return home, await _static_asset_check(probe, home)

        health, (home, static), redirect, webhook = await asyncio.gather(
            probe.send("GET", probe.url(HEALTH_PATH), body_limit=65_536),
            home_checks(),
            _https_redirect_check(probe),
            _webhook_check(probe),
        )
        # Last and alone: it exhausts this IP's allowance, which would skew the others.
        if check_rate_limit:
            rate = await _rate_limit_check(probe, health)
        else:
            rate = _check(
                "rate-limit",
                _RATE_TITLE,
                "skipped",
                f"pass --check-rate-limit to send up to {RATE_LIMIT_MAX_REQUESTS} requests "
                f"to {HEALTH_PATH}",
            )
    checks = [
        _health_check(health, timeout),
        redirect,
        _certificate_check(target, home.first),
        *_header_checks(home),
        static,
        _api_cache_check(health),
        _cloudflare_check(home, expect_cloudflare),
        webhook,
        rate,
    ]
    return VerifyReport(url=target.origin, checks=checks)


_MARKS = {
    "pass": ("✓", "\x1b[32m"),
    "fail": ("✗", "\x1b[31m"),
    "skipped": ("\u2013", "\x1b[2m"),  # en dash, as the spec draws it
}
_RESET = "\x1b[0m"


def render_text(report: VerifyReport, color: bool) -> str:
    """One line per check, the fix indented under each failure; no ANSI codes unless ``color``."""

    def paint(text: str, code: str) -> str:
        return f"{code}{text}{_RESET}" if color else text

    width = max((len(c.title) for c in report.checks), default=0)
    lines = [f"Verifying {report.url}"]
    for c in report.checks:
        mark, code = _MARKS[c.status]
        detail = c.detail if c.status != "skipped" else f"skipped: {c.detail}"
        lines.append(f"  {paint(mark, code)} {c.title.ljust(width)}  {detail}")
        if c.status == "fail" and c.fix:
            lines.append(f"      → {c.fix}")
    counts = Counter(c.status for c in report.checks)
    summary = f"{counts['pass']} passed, {counts['fail']} failed, {counts['skipped']} skipped"
    lines.append(paint(summary, _MARKS["fail" if report.failed else "pass"][1]))
    return "\n".join(lines)
