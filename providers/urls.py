"""Base-URL rules: credentials travel over https only, or plain http to loopback."""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit

from providers.errors import InsecureURL


def is_loopback_host(host: str | None) -> bool:
    if not host:
        return False
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def checked_base_url(service: str, url: str, *, variable: str | None = None) -> str:
    """Return ``url`` without a trailing slash, or raise InsecureURL."""
    parts = urlsplit(url)
    where = variable or f"{service} base URL"
    if parts.scheme == "https" and parts.hostname:
        return url.rstrip("/")
    if parts.scheme == "http" and is_loopback_host(parts.hostname):
        return url.rstrip("/")
    raise InsecureURL(
        service,
        f"{where} must be https:// (plain http only to loopback), "
        f"got {parts.scheme or 'no'} scheme",
        key=variable,
        hint=f"fix {where}",
    )


def r2_endpoint(account_id: str) -> str:
    """Cloudflare R2's S3 API endpoint for an account."""
    return f"https://{account_id}.r2.cloudflarestorage.com"
