"""PostgreSQL connection check through psycopg (imported lazily), with scrubbed errors.

``check_connection`` is a coroutine on psycopg's async connection: no worker thread, so
one ctrl+c ends it at once. It is bounded three ways: ``connect_timeout`` per attempt,
``statement_timeout`` (``SET LOCAL``, so a transaction pooler never keeps it) per query,
and an overall deadline around the whole check.

The password goes only where it cannot be read: SCRAM is required (libpq's
``require_auth=scram-sha-256``: a server asking for a cleartext or MD5 password is refused
before anything is sent), channel binding is required where the server offers it, and the
certificate is verified where the provider's CA is known (Supabase's own root CA, shipped
in ``assets/``; Neon's public CAs through the system store). ``allow_password_auth``
(``--set db_allow_password_auth=yes``) is the knowing opt-out.

Errors say which failure it was (password, SSL, unreachable, ...) and never carry the
password: libpq and psycopg messages can quote the connection string, so every message is
scrubbed.
"""

from __future__ import annotations

import asyncio
import ipaddress
import re
import socket
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any
from urllib.parse import quote

from providers.database_urls import libpq_url, supabase_ref, url_host
from providers.errors import (
    AuthError,
    BadRequest,
    NetworkError,
    NotFound,
    PermissionDenied,
    ProviderError,
    ServiceUnavailable,
)
from providers.threads import in_daemon_thread
from providers.urls import is_loopback_host

SERVICE = "PostgreSQL"
# A read a step runs over a connection proven as the check proves it (psycopg AsyncConnection).
Work = Callable[[Any], Awaitable[Any]]
URL_KEY = "DATABASE_URL"
ALLOW_PASSWORD_CHOICE = "db_allow_password_auth"
CONNECT_TIMEOUT = 10  # per attempt; a Neon compute waking from idle takes a few seconds
STATEMENT_TIMEOUT_MS = 5000
DEADLINE = 30.0  # the whole check: up to two connection attempts and two queries
SECURE_SSLMODES = frozenset({"require", "verify-ca", "verify-full"})
VERIFYING_SSLMODES = frozenset({"verify-ca", "verify-full"})
# libpq 16 brought require_auth and sslrootcert=system.
LIBPQ_REQUIRE_AUTH = 160000
# "Supabase Root 2021 CA" (valid to 2031-04-26), the root Supabase publishes as
# prod-ca-2021.crt (Database settings → SSL); its docs connect with sslmode=verify-full and
# this file, to the pooler and the direct host alike. SHA-256 80:70:25:AD:…:72:E6:CA:FA.
SUPABASE_ROOT_CA = Path(__file__).resolve().parent.parent / "assets" / "supabase-root-2021.crt"

# user:password@ inside any URL, and password=... in key/value connection strings.
_URL_PASSWORD = re.compile(r"(://[^:/@\s]*):[^@\s]*@")
_KV_PASSWORD = re.compile(r"(password\s*=\s*)('(?:[^'\\]|\\.)*'|\S+)", re.IGNORECASE)
_ALLOW_HINT = (
    f"accept it knowingly with --set {ALLOW_PASSWORD_CHOICE}=yes (the password then travels to "
    "this server)"
)


class SSLRefused(NetworkError):
    """The server answered without SSL (or with a certificate we cannot verify)."""


class PasswordAuthRefused(PermissionDenied):
    """The server asked for the password itself (cleartext or MD5): it was not sent."""


@dataclass(frozen=True)
class ServerInfo:
    version: str
    host: str
    port: str
    ssl: bool
    verified: bool = False  # the certificate chain and host name were checked
    scram: bool = True  # SCRAM was required (no opt-out)
    channel_binding: bool = False  # SCRAM was bound to this TLS channel

    def describe(self) -> str:
        if not self.ssl:
            return f"PostgreSQL {self.version} at {self.host}:{self.port} without SSL (loopback)"
        how = ["certificate verified" if self.verified else "certificate not verified"]
        if self.scram:
            how.append("SCRAM with channel binding" if self.channel_binding else "SCRAM")
        else:
            how.append("password authentication allowed")
        return f"PostgreSQL {self.version} at {self.host}:{self.port} over SSL ({', '.join(how)})"


@dataclass(frozen=True)
class Security:
    """What the check asks of libpq for one URL, and what that proves."""

    kwargs: dict[str, str]
    verified: bool
    scram: bool
    channel_binding: bool  # required on the first attempt
    provider: str | None = None  # whose CA verifies the certificate


def _parts(url: str, *, key: str = URL_KEY) -> dict[str, str]:
    """The connection string's parameters (host, port, password, sslmode...)."""
    from psycopg.conninfo import conninfo_to_dict

    try:
        return {k: str(v) for k, v in conninfo_to_dict(url).items() if v is not None}
    except Exception as exc:  # psycopg.ProgrammingError: the message may quote the string
        raise BadRequest(
            SERVICE,
            "the connection string cannot be parsed: " + scrub(str(exc).strip(), url),
            key=key,
            hint="copy it again from the database console (postgresql://user:password@host:port/db)",
        ) from None


def hosts_of(params: dict[str, str]) -> list[str]:
    return [h for h in params.get("host", "").split(",") if h]


def provider_of(host: str) -> str | None:
    host = host.lower().rstrip(".")
    if host.endswith((".supabase.co", ".supabase.com")):
        return "Supabase"
    if host.endswith(".neon.tech"):
        return "Neon"
    return None


def libpq_version() -> int:
    import psycopg

    return int(psycopg.pq.version())


def security(params: dict[str, str], *, allow_password_auth: bool = False) -> Security:
    """libpq parameters so that the password never reaches a server that is not proven.

    - sslmode from the URL; over anything but loopback SSL is required, whatever it says.
    - A known provider's certificate is verified (verify-full) against its CA: Supabase's
      root (shipped here), Neon's public CAs (the system store). A URL that already
      verifies with its own sslrootcert is left as it is.
    - SCRAM is required, and channel binding on the first attempt when SSL is in use.
    """
    hosts = hosts_of(params)
    loopback = bool(hosts) and all(is_loopback_host(h) for h in hosts)
    sslmode = params.get("sslmode", "")
    kwargs: dict[str, str] = {}
    if not loopback and sslmode not in SECURE_SSLMODES:
        kwargs["sslmode"] = sslmode = "require"
    providers = {provider_of(h) for h in hosts}
    provider = providers.pop() if len(providers) == 1 else None
    modern = libpq_version() >= LIBPQ_REQUIRE_AUTH
    if provider and not (sslmode in VERIFYING_SSLMODES and params.get("sslrootcert")):
        if provider == "Supabase":
            kwargs |= {"sslmode": "verify-full", "sslrootcert": str(SUPABASE_ROOT_CA)}
            sslmode = "verify-full"
        elif provider == "Neon" and modern:
            kwargs |= {"sslmode": "verify-full", "sslrootcert": "system"}
            sslmode = "verify-full"
    ssl = sslmode in SECURE_SSLMODES
    if allow_password_auth:
        return Security(kwargs, sslmode in VERIFYING_SSLMODES, False, False, provider)
    if modern:
        kwargs["require_auth"] = "scram-sha-256"
    binding = ssl
    if binding:
        # Before libpq 16 this alone refuses a cleartext or MD5 request (SCRAM-PLUS only).
        kwargs["channel_binding"] = "require"
    elif not modern:
        raise PasswordAuthRefused(
            SERVICE,
            f"libpq {libpq_version()} cannot require SCRAM without SSL",
            key=URL_KEY,
            hint="use sslmode=require, upgrade psycopg[binary] (libpq 16 or later), or "
            + _ALLOW_HINT,
        )
    return Security(kwargs, sslmode in VERIFYING_SSLMODES, True, binding, provider)


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


def _pooler_hint(ref: str) -> str:
    return (
        f"db.{ref}.supabase.co is IPv6-only (unless the IPv4 add-on is on): use the transaction "
        f"pooler postgresql://postgres.{ref}:[password]@aws-0-<region>.pooler.supabase.com:6543/"
        "postgres?sslmode=require (Connect → Transaction pooler), or set SUPABASE_ACCESS_TOKEN "
        "and the wizard builds it"
    )


def _refused_auth(low: str, where: str, key: str) -> ProviderError | None:
    """libpq's require_auth / channel_binding refusals: nothing secret was sent."""
    asked = None
    if "requested a cleartext password" in low:
        asked = "the password in clear text (method password)"
    elif "requested a hashed password" in low or "md5" in low:
        asked = "an MD5-hashed password (method md5)"
    elif "did not complete authentication" in low:
        asked = "no authentication at all (method trust)"
    elif "channel binding" in low:
        asked = "SCRAM without channel binding, or no SCRAM"
    if asked is None:
        return None
    return PasswordAuthRefused(
        SERVICE,
        f"{where}: the server asked for {asked}; refused, the password was not sent",
        key=key,
        hint="have the server use scram-sha-256 (password_encryption and pg_hba.conf), or "
        + _ALLOW_HINT,
    )


def classify(
    exc: Exception, url: str, *, key: str = URL_KEY, checked: Security | None = None
) -> ProviderError:
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

    if "authentication method requirement" in low or "channel binding" in low:
        refused = _refused_auth(low, where, key)
        if refused:
            return refused
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
    certificate = "root certificate" in low or "certificate" in low
    if certificate and checked and checked.provider == "Supabase":
        return SSLRefused(
            SERVICE,
            f"{where}: the certificate is not Supabase's (it does not chain to the Supabase Root "
            "2021 CA for this host name): refused, the password was not sent",
            key=key,
            hint="check the host: is something between you and Supabase? If Supabase changed "
            "its CA, verify with your own sslrootcert=… and sslmode=verify-full",
        )
    if certificate and checked and checked.provider == "Neon":
        return SSLRefused(
            SERVICE,
            f"{where}: the certificate is not trusted by the system's CA store for this host "
            "name: refused, the password was not sent",
            key=key,
            hint="check the host and the system's CA certificates (Debian: ca-certificates)",
        )
    if certificate:
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


async def _probe(
    url: str,
    kwargs: dict[str, Any],
    connect_timeout: float,
    opened: list[Any],
    work: Work | None = None,
) -> Any:
    import psycopg

    # prepare_threshold=None: no named prepared statements (transaction poolers); no
    # `options` startup parameter either: PgBouncer refuses it.
    conn = await psycopg.AsyncConnection.connect(
        url,
        autocommit=False,
        prepare_threshold=None,
        connect_timeout=max(1, round(connect_timeout)),
        application_name="dream-pixel-setup",
        **kwargs,
    )
    opened.append(conn)
    if work is not None:
        try:
            async with conn.cursor() as cur:
                await cur.execute(f"SET LOCAL statement_timeout = {int(STATEMENT_TIMEOUT_MS)}")
            result = await work(conn)
            await conn.rollback()
            return result
        finally:
            await conn.close()
    try:
        async with conn.cursor() as cur:
            # SET LOCAL ends with the transaction: a pooled server connection keeps nothing.
            await cur.execute(f"SET LOCAL statement_timeout = {int(STATEMENT_TIMEOUT_MS)}")
            await cur.execute("SELECT 1")
            one = await cur.fetchone()
            await cur.execute("SHOW server_version")
            row = await cur.fetchone()
        await conn.rollback()
        ssl = bool(conn.pgconn.ssl_in_use)
        host, port = conn.info.host, str(conn.info.port)
    finally:
        await conn.close()
    if not one or one[0] != 1 or not row:
        raise psycopg.OperationalError("the server answered SELECT 1 unexpectedly")
    return ServerInfo(version=str(row[0]), host=host, port=port, ssl=ssl)


def _abandon(task: asyncio.Future[Any], opened: list[Any]) -> None:
    """Drop a probe at once: close its socket first, so psycopg does not spend up to 10 s
    sending a cancel request and waiting for the query to end (its ctrl+c handling)."""
    for conn in opened:
        try:
            conn.pgconn.finish()
        except Exception:
            pass
    task.cancel()
    task.add_done_callback(lambda t: t.cancelled() or t.exception())


async def _bounded_probe(
    url: str,
    kwargs: dict[str, Any],
    connect_timeout: float,
    until: float,
    work: Work | None = None,
) -> Any:
    opened: list[Any] = []
    task = asyncio.ensure_future(_probe(url, kwargs, connect_timeout, opened, work))
    remaining = max(0.0, until - asyncio.get_running_loop().time())
    try:
        # shield: a timeout or a ctrl+c reaches this frame, not psycopg's wait.
        return await asyncio.wait_for(asyncio.shield(task), remaining)
    except BaseException:
        _abandon(task, opened)
        raise


def _getaddrinfo_in_daemon(host: str, port: str) -> asyncio.Future[list[str]]:
    """The addresses of ``host``, looked up in a daemon thread: a stuck DNS lookup then
    holds nothing at exit (asyncio's own getaddrinfo runs in an executor thread that
    ``asyncio.run`` joins, however long the resolver takes)."""

    def lookup() -> list[str]:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        return list(dict.fromkeys(str(info[4][0]) for info in infos))

    return in_daemon_thread(lookup, name="dream-pixel-dns")


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


async def _resolve(params: dict[str, str], until: float) -> dict[str, str]:
    """host/hostaddr/port lists with every address of every host name, so that psycopg
    resolves nothing itself (see _getaddrinfo_in_daemon)."""
    import psycopg

    hosts = hosts_of(params)
    if params.get("hostaddr") or not hosts or any(h.startswith("/") for h in hosts):
        return {}
    ports = params.get("port", "5432").split(",")
    out: dict[str, list[str]] = {"host": [], "hostaddr": [], "port": []}
    failure: OSError | None = None
    for i, host in enumerate(hosts):
        port = ports[i] if len(ports) == len(hosts) else ports[0]
        if _is_ip(host):
            addresses = [host]
        else:
            remaining = max(0.0, until - asyncio.get_running_loop().time())
            try:
                addresses = await asyncio.wait_for(_getaddrinfo_in_daemon(host, port), remaining)
            except TimeoutError:  # an OSError too: the deadline, not a failed lookup
                raise
            except OSError as exc:
                failure = exc
                continue
        for address in addresses:
            out["host"].append(host)
            out["hostaddr"].append(address)
            out["port"].append(port)
    if not out["hostaddr"]:
        reason = failure.strerror if isinstance(failure, OSError) and failure.strerror else ""
        raise psycopg.OperationalError(
            f'could not translate host name "{hosts[0]}" to address: {reason}'.rstrip(": ")
        )
    return {key: ",".join(values) for key, values in out.items()}


async def _attempts(
    params: dict[str, str],
    url: str,
    checked: Security,
    connect_timeout: float,
    deadline: float,
    work: Work | None = None,
) -> tuple[Any, bool]:
    """The probe, once more without channel binding when the server offers SCRAM without
    it (PgBouncer, Supavisor): no proof had been sent yet, and SCRAM is still required."""
    import psycopg

    kwargs: dict[str, Any] = dict(checked.kwargs)
    until = asyncio.get_running_loop().time() + deadline
    kwargs |= await _resolve(params, until)
    try:
        found = await _bounded_probe(url, kwargs, connect_timeout, until, work)
        return found, checked.channel_binding
    except psycopg.OperationalError as exc:
        low = str(exc).lower()
        retry = checked.channel_binding and "require_auth" in kwargs
        if not (retry and "channel binding" in low and "cleartext" not in low):
            raise
    kwargs["channel_binding"] = "disable"
    return await _bounded_probe(url, kwargs, connect_timeout, until, work), False


async def _connected(
    url: str,
    work: Work | None,
    *,
    key: str,
    allow_password_auth: bool,
    connect_timeout: float,
    deadline: float,
) -> tuple[Any, Security, bool]:
    """The probe (``work`` None) or ``work(conn)`` over a connection to a proven server;
    its result, what was asked of libpq, and whether channel binding held."""
    import psycopg

    clean = libpq_url(url)
    params = _parts(clean, key=key)
    checked = security(params, allow_password_auth=allow_password_auth)
    hosts = hosts_of(params)
    where = f"{hosts[0] if hosts else url_host(clean)}:{params.get('port', '5432')}"
    try:
        result, bound = await _attempts(params, clean, checked, connect_timeout, deadline, work)
    except TimeoutError:
        raise NetworkError(
            SERVICE,
            f"{where}: no answer within {deadline:g} s (connected but stalled, or too slow)",
            key=key,
            hint="check that the database is up and not overloaded, and the host and port",
        ) from None
    except psycopg.Error as exc:
        raise classify(exc, clean, key=key, checked=checked) from None
    return result, checked, bound


async def check_connection(
    url: str,
    *,
    key: str = URL_KEY,
    allow_password_auth: bool = False,
    connect_timeout: float = CONNECT_TIMEOUT,
    deadline: float = DEADLINE,
) -> ServerInfo:
    """Connect, run ``SELECT 1`` and ``SHOW server_version``; at most ``deadline`` seconds.

    Prisma-only parameters (``pgbouncer``, ``connection_limit``...) are removed first: libpq
    rejects them.
    """
    info, checked, bound = await _connected(
        url,
        None,
        key=key,
        allow_password_auth=allow_password_auth,
        connect_timeout=connect_timeout,
        deadline=deadline,
    )
    return replace(info, verified=checked.verified, scram=checked.scram, channel_binding=bound)


async def run_read(
    url: str,
    work: Work,
    *,
    key: str = URL_KEY,
    allow_password_auth: bool = False,
    connect_timeout: float = CONNECT_TIMEOUT,
    deadline: float = DEADLINE,
) -> Any:
    """``await work(conn)`` on a connection made exactly as ``check_connection`` makes it
    (the same proof of the server, the same bounds), in a transaction rolled back after:
    for reads only."""
    result, _, _ = await _connected(
        url,
        work,
        key=key,
        allow_password_auth=allow_password_auth,
        connect_timeout=connect_timeout,
        deadline=deadline,
    )
    return result
