"""PostgreSQL connection check through psycopg (imported lazily), with scrubbed errors.

``check_connection`` blocks: call it through ``asyncio.to_thread``. Errors say which
failure it was (password, SSL, unreachable, ...) and never carry the password: libpq and
psycopg messages can quote the connection string, so every message is scrubbed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from providers.errors import (
    AuthError,
    BadRequest,
    NetworkError,
    NotFound,
    PermissionDenied,
    ProviderError,
    ServiceUnavailable,
)
from providers.urls import is_loopback_host

SERVICE = "PostgreSQL"
URL_KEY = "DATABASE_URL"
CONNECT_TIMEOUT = 5
SECURE_SSLMODES = frozenset({"require", "verify-ca", "verify-full"})

_SUPABASE_DIRECT = re.compile(r"^db\.([a-z0-9]+)\.supabase\.co$", re.IGNORECASE)
# user:password@ inside any URL, and password=... in key/value connection strings.
_URL_PASSWORD = re.compile(r"(://[^:/@\s]*):[^@\s]*@")
_KV_PASSWORD = re.compile(r"(password\s*=\s*)('(?:[^'\\]|\\.)*'|\S+)", re.IGNORECASE)


class SSLRefused(NetworkError):
    """The server answered without SSL (or with a certificate we cannot verify)."""


@dataclass(frozen=True)
class ServerInfo:
    version: str
    host: str
    port: str
    ssl: bool

    def describe(self) -> str:
        return f"PostgreSQL {self.version} at {self.host}:{self.port}" + (
            " over SSL" if self.ssl else " without SSL (loopback)"
        )


def _parts(url: str) -> dict[str, str]:
    """The connection string's parameters (host, port, password, sslmode...)."""
    from psycopg.conninfo import conninfo_to_dict

    try:
        return {k: str(v) for k, v in conninfo_to_dict(url).items() if v is not None}
    except Exception as exc:  # psycopg.ProgrammingError: the message may quote the string
        raise BadRequest(
            SERVICE,
            "the connection string cannot be parsed: " + scrub(str(exc).strip(), url),
            key=URL_KEY,
            hint="copy it again from the database console (postgresql://user:password@host:port/db)",
        ) from None


def hosts_of(params: dict[str, str]) -> list[str]:
    return [h for h in params.get("host", "").split(",") if h]


def ssl_kwargs(params: dict[str, str]) -> dict[str, str]:
    """sslmode from the URL; over anything but loopback SSL is required, whatever it says."""
    hosts = hosts_of(params)
    loopback = bool(hosts) and all(is_loopback_host(h) for h in hosts)
    if loopback or params.get("sslmode") in SECURE_SSLMODES:
        return {}
    return {"sslmode": "require"}


def scrub(text: str, url: str, *secrets: str) -> str:
    """``text`` without the URL's password (raw and URL-encoded) or any other secret."""
    hidden: set[str] = {s for s in secrets if s}
    try:
        from psycopg.conninfo import conninfo_to_dict

        password = conninfo_to_dict(url).get("password")
    except Exception:
        password = None
    if password:
        hidden |= {str(password), quote(str(password), safe=""), quote(str(password))}
    match = re.search(r"://[^:/@\s]*:([^@\s]*)@", url)
    if match and match.group(1):
        hidden.add(match.group(1))
    out = _URL_PASSWORD.sub(r"\1:***@", text)
    out = _KV_PASSWORD.sub(r"\1***", out)
    for secret in sorted(hidden, key=len, reverse=True):
        out = out.replace(secret, "***")
    return out


def supabase_ref(host: str) -> str | None:
    """The project ref of Supabase's direct host db.<ref>.supabase.co, else None."""
    match = _SUPABASE_DIRECT.match(host)
    return match.group(1) if match else None


def _pooler_hint(ref: str) -> str:
    return (
        f"db.{ref}.supabase.co is IPv6-only (unless the IPv4 add-on is on): use the transaction "
        f"pooler postgresql://postgres.{ref}:[password]@aws-0-<region>.pooler.supabase.com:6543/"
        "postgres?sslmode=require (Connect → Transaction pooler), or set SUPABASE_ACCESS_TOKEN "
        "and the wizard builds it"
    )


def classify(exc: Exception, url: str, *, key: str = URL_KEY) -> ProviderError:
    """A psycopg failure as the error the user reads: which failure, and what to do."""
    params: dict[str, str] = {}
    try:
        params = _parts(url)
    except ProviderError:
        pass
    hosts = hosts_of(params)
    where = f"{hosts[0] if hosts else 'the server'}:{params.get('port', '5432')}"
    raw = scrub(str(exc).strip(), url)
    low = raw.lower()
    # libpq prefixes "connection failed: connection to server at ... failed:": keep the rest.
    reason = raw.rsplit(" failed: ", 1)[-1].strip()
    reason = re.sub(r"^(connection is bad:\s*)?(FATAL|ERROR)?:?\s*", "", reason)
    reason = reason.splitlines()[0] if reason else "failed"

    if "password authentication failed" in low or "authentication failed" in low:
        return AuthError(
            SERVICE,
            f"{where}: {reason}",
            key=key,
            hint="the password is wrong: copy it again (Supabase: Project Settings → Database → "
            "Reset database password); special characters must be URL-encoded in the URL",
        )
    if "tenant or user not found" in low:
        return AuthError(
            SERVICE,
            f"{where}: the pooler does not know this user",
            key=key,
            hint="on the Supabase pooler the user is postgres.<project-ref>, not postgres",
        )
    if "does not support ssl" in low or "ssl was required" in low:
        return SSLRefused(
            SERVICE,
            f"{where}: the server refused SSL, and sslmode requires it",
            key=key,
            hint="check the host and port (a proxy without TLS?); a remote database must accept "
            "SSL, so keep sslmode=require",
        )
    if "root certificate" in low or "certificate verify failed" in low or "certificate" in low:
        return SSLRefused(
            SERVICE,
            f"{where}: the server's certificate could not be verified",
            key=key,
            hint="with sslmode=verify-full/verify-ca add sslrootcert=system (or the provider's CA "
            "file), or use sslmode=require",
        )
    if "ssl" in low and ("error" in low or "handshake" in low):
        return SSLRefused(SERVICE, f"{where}: SSL failed: {reason}", key=key, hint="check the port")
    if "does not exist" in low and "database" in low:
        return NotFound(SERVICE, f"{where}: {reason}", key=key, hint="check the database name")
    if "does not exist" in low and "role" in low:
        return AuthError(SERVICE, f"{where}: {reason}", key=key, hint="check the user name")
    if "no pg_hba.conf entry" in low or "not allowed" in low or "not permitted" in low:
        return PermissionDenied(
            SERVICE,
            f"{where}: the server does not accept this connection",
            key=key,
            hint="check the database's IP allow list / network restrictions",
        )
    if "too many connections" in low or "remaining connection slots" in low:
        return ServiceUnavailable(
            SERVICE,
            f"{where}: too many connections",
            key=key,
            hint="use the pooler URL (port 6543)",
        )
    if "invalid" in low and ("option" in low or "value" in low or "uri" in low):
        return BadRequest(SERVICE, reason, key=key, hint="fix the connection string's parameters")
    unreachable = (
        "connection refused",
        "timeout",
        "timed out",
        "could not translate host name",
        "failed to resolve host",
        "name or service not known",
        "network is unreachable",
        "no route to host",
        "cannot assign requested address",
        "could not connect",
    )
    if any(s in low for s in unreachable):
        ref = next((r for h in hosts if (r := supabase_ref(h))), None)
        return NetworkError(
            SERVICE,
            f"could not reach {where}: {reason}",
            key=key,
            hint=_pooler_hint(ref)
            if ref
            else "check the host and port, and that the database runs",
        )
    return ProviderError(SERVICE, f"{where}: {reason}"[:300], key=key)


def check_connection(
    url: str, *, key: str = URL_KEY, connect_timeout: int = CONNECT_TIMEOUT
) -> ServerInfo:
    """Connect, run ``SELECT 1`` and ``SHOW server_version``. Blocking."""
    import psycopg

    params = _parts(url)
    kwargs: dict[str, Any] = {
        "connect_timeout": connect_timeout,
        "application_name": "dream-pixel-setup",
        **ssl_kwargs(params),
    }
    try:
        with psycopg.connect(url, autocommit=True, **kwargs) as conn:
            one = conn.execute("SELECT 1").fetchone()
            row = conn.execute("SHOW server_version").fetchone()
            ssl = bool(conn.pgconn.ssl_in_use)
            host, port = conn.info.host, str(conn.info.port)
    except psycopg.Error as exc:
        raise classify(exc, url, key=key) from None
    if not one or one[0] != 1 or not row:
        raise ProviderError(SERVICE, "the server answered SELECT 1 unexpectedly", key=key)
    return ServerInfo(version=str(row[0]), host=host, port=port, ssl=ssl)
