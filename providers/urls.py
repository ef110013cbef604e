"""Base-URL rules: credentials travel over https only, or plain http to loopback.

Plain http stays on this machine:
- "loopback" is a loopback IP literal, or ``localhost`` / ``*.localhost`` only when the
  name resolves to loopback addresses and nothing else;
- a URL that Python's ``urlsplit``, httpx and urllib3 (boto3's parser) would read as
  different hosts or ports is refused: ``http://192.0.2.2:1\\@127.0.0.1`` is loopback to
  ``urlsplit`` but 192.0.2.2 to boto3 and to Node;
- proxy variables (HTTP_PROXY, HTTPS_PROXY, ALL_PROXY) are never used for a loopback URL
  (``no_proxy_mounts``), so a proxy never sees test traffic or the credentials it carries.
"""

from __future__ import annotations

import functools
import ipaddress
import socket
from urllib.parse import urlsplit

import httpx

from providers.errors import InsecureURL

# Nothing legitimate in a service URL needs these, and parsers disagree about each.
_FORBIDDEN = frozenset("\\ \t\r\n\x0b\x0c\x00")


@functools.lru_cache(maxsize=32)
def _resolves_to_loopback(name: str) -> bool:
    try:
        infos = socket.getaddrinfo(name, None, proto=socket.IPPROTO_TCP)
    except (OSError, UnicodeError):
        return False
    addresses = {info[4][0] for info in infos}
    try:
        return bool(addresses) and all(
            ipaddress.ip_address(str(a).split("%")[0]).is_loopback for a in addresses
        )
    except ValueError:
        return False


def is_loopback_host(host: str | None) -> bool:
    if not host:
        return False
    host = host.lower().strip("[]").rstrip(".")
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        pass
    if host == "localhost" or host.endswith(".localhost"):
        # A name is only as local as what it resolves to (an /etc/hosts entry or a
        # resolver could send "api.localhost" anywhere).
        return _resolves_to_loopback(host)
    return False


def is_loopback_url(url: str) -> bool:
    try:
        return is_loopback_host(urlsplit(url).hostname)
    except ValueError:
        return False


def no_proxy_mounts(url: str) -> dict[str, None]:
    """httpx ``mounts`` that keep requests to a loopback ``url`` away from any proxy.

    ``trust_env`` itself stays on (it also brings SSL_CERT_FILE); the mount for the host
    outranks the proxies httpx reads from HTTP_PROXY / HTTPS_PROXY / ALL_PROXY."""
    try:
        host = urlsplit(url).hostname
    except ValueError:
        return {}
    if not host or not is_loopback_host(host):
        return {}
    return {f"all://[{host}]" if ":" in host else f"all://{host}": None}


def _urllib3_reading(url: str) -> tuple[str | None, int | None] | None:
    try:
        from urllib3.util import parse_url
    except ImportError:  # boto3 brings urllib3; without it there is no third reader
        return None
    try:
        parsed = parse_url(url)
    except ValueError:
        return ("<unreadable>", None)
    return (parsed.host.lower().strip("[]") if parsed.host else None, parsed.port)


def ambiguous_url(url: str) -> str | None:
    """Why ``url`` cannot be trusted to mean one place, or None.

    Never quotes the URL: the part before an ``@`` may be a password."""
    if any(c in _FORBIDDEN or ord(c) < 0x20 or ord(c) == 0x7F for c in url):
        return "it contains a backslash, a space or a control character"
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return "its host or port cannot be read"
    if "@" in parts.netloc:
        return "it carries a user name or password (give credentials in their own variables)"
    host = (parts.hostname or "").lower().strip("[]")
    try:
        h = httpx.URL(url)
    except (httpx.InvalidURL, UnicodeError, ValueError):
        return "httpx cannot read it"
    default = {"http": 80, "https": 443}.get(parts.scheme)
    if h.host.lower().strip("[]") != host or (h.port or default) != (port or default):
        return "httpx would read a different host or port than it seems to name"
    other = _urllib3_reading(url)
    if other is not None and (other[0] != host or (other[1] or default) != (port or default)):
        return "the AWS SDK would read a different host or port than it seems to name"
    return None


def checked_base_url(service: str, url: str, *, variable: str | None = None) -> str:
    """Return ``url`` without a trailing slash, or raise InsecureURL."""
    where = variable or f"{service} base URL"
    if reason := ambiguous_url(url):
        raise InsecureURL(
            service,
            f"{where} is refused: {reason}",
            key=variable,
            hint=f"write {where} plainly, e.g. https://host or http://127.0.0.1:PORT",
        )
    parts = urlsplit(url)
    if parts.scheme == "https" and parts.hostname:
        return url.rstrip("/")
    if parts.scheme == "http" and is_loopback_host(parts.hostname):
        return url.rstrip("/")
    got = f"{parts.scheme or 'no'} scheme"
    if parts.scheme == "http":
        got = "plain http to a host that is not loopback"
    raise InsecureURL(
        service,
        f"{where} must be https:// (plain http only to loopback), got {got}",
        key=variable,
        hint=f"fix {where}",
    )


def r2_endpoint(account_id: str) -> str:
    """Cloudflare R2's S3 API endpoint for an account."""
    return f"https://{account_id}.r2.cloudflarestorage.com"
