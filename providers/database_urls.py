"""Connection URLs for a Prisma app on a pooler, and the direct URL its migrations need.

What the vendors document (2024-2025):
- Supabase's transaction pooler (Supavisor, ``*.pooler.supabase.com:6543``; the dedicated
  PgBouncer is ``db.<ref>.supabase.co:6543``) has no prepared statements: Prisma needs
  ``pgbouncer=true`` (Prisma's "Supabase" page, Supavisor's Prisma page), and serverless
  functions ``connection_limit=1`` (Prisma's connection management
  guide: start with 1 on serverless). Migrations go through ``:5432`` on the same host:
  the session pooler, which like the transaction pooler is reachable over IPv4 (Prisma's
  Supabase page: ``directUrl`` = session pooler), or for the dedicated pooler the database.
- Neon ("Connect from Prisma to Neon"): the pooled host is the endpoint id with
  ``-pooler``, with ``sslmode=require``; no ``pgbouncer`` flag; ``directUrl`` is the same
  host without ``-pooler``; ``connect_timeout`` raised above Prisma's 5 s for a compute
  waking from idle (their example: 15).

``libpq_url`` strips the parameters only Prisma reads, which libpq would reject.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal
from urllib.parse import unquote, urlsplit, urlunsplit

# Prisma's PostgreSQL connector arguments that libpq does not know.
PRISMA_ONLY_PARAMS = frozenset(
    {
        "pgbouncer",
        "connection_limit",
        "pool_timeout",
        "schema",
        "socket_timeout",
        "statement_cache_size",
        "sslaccept",
        "sslidentity",
        "max_connection_lifetime",
        "max_idle_connection_lifetime",
    }
)
SUPABASE_TRANSACTION_PORT = 6543
SUPABASE_SESSION_PORT = 5432
SERVERLESS_CONNECTION_LIMIT = "1"
NEON_CONNECT_TIMEOUT = "15"

Pooler = Literal["supabase-transaction", "neon-pooled"]
# Supabase's dedicated pooler: PgBouncer in transaction mode on the direct host's port 6543.
_SUPABASE_DIRECT = re.compile(r"^db\.([a-z0-9]+)\.supabase\.co$", re.IGNORECASE)
_NEON_POOLED = re.compile(r"^(ep-[a-z0-9-]+?)-pooler\.(.+\.neon\.tech)$", re.IGNORECASE)


def supabase_ref(host: str) -> str | None:
    """The project ref of Supabase's direct host db.<ref>.supabase.co, else None."""
    match = _SUPABASE_DIRECT.match(host)
    return match.group(1) if match else None


def _pairs(query: str) -> list[tuple[str, str]]:
    """The query's key=value segments, each kept verbatim next to its decoded key."""
    out = []
    for segment in query.split("&"):
        if segment:
            out.append((unquote(segment.split("=", 1)[0]).strip().lower(), segment))
    return out


def _with_query(url: str, segments: list[str]) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(query="&".join(segments)))


def is_url(url: str) -> bool:
    return url.startswith(("postgres://", "postgresql://"))


def url_host(url: str) -> str:
    try:
        return urlsplit(url).hostname or ""
    except ValueError:
        return ""


def url_port(url: str) -> int | None:
    try:
        return urlsplit(url).port
    except ValueError:
        return None


def query_params(url: str) -> dict[str, str]:
    return {k: unquote(seg.split("=", 1)[1]) if "=" in seg else "" for k, seg in _pairs(_q(url))}


def _q(url: str) -> str:
    try:
        return urlsplit(url).query
    except ValueError:
        return ""


def libpq_url(url: str) -> str:
    """``url`` without Prisma-only parameters (key/value strings are returned as they are)."""
    if not is_url(url) or "?" not in url:
        return url
    kept = [seg for key, seg in _pairs(_q(url)) if key not in PRISMA_ONLY_PARAMS]
    return _with_query(url, kept)


def with_params(url: str, wanted: dict[str, str]) -> str:
    """``url`` with each of ``wanted`` added where the URL does not set it already."""
    pairs = _pairs(_q(url))
    have = {key for key, _ in pairs}
    extra = [f"{k}={v}" for k, v in wanted.items() if k not in have]
    return _with_query(url, [seg for _, seg in pairs] + extra) if extra else url


def without_params(url: str, names: frozenset[str]) -> str:
    return _with_query(url, [seg for key, seg in _pairs(_q(url)) if key not in names])


def pooler_of(url: str) -> Pooler | None:
    """Which transaction pooler ``url`` goes through, if a known one."""
    host = url_host(url).lower()
    supabase = host.endswith(".pooler.supabase.com") or supabase_ref(host)
    if supabase and url_port(url) == SUPABASE_TRANSACTION_PORT:
        return "supabase-transaction"
    if _NEON_POOLED.match(host):
        return "neon-pooled"
    return None


def is_pooled(url: str) -> bool:
    """Through a transaction pooler: a known one, or one the URL says is PgBouncer."""
    return pooler_of(url) is not None or query_params(url).get("pgbouncer") == "true"


@dataclass(frozen=True)
class PrismaUrls:
    database_url: str  # what the app's Prisma Client uses
    direct_url: str | None  # what Prisma Migrate uses; None when not derivable
    added: tuple[str, ...]  # parameters added to DATABASE_URL
    pooler: Pooler | None


def _set_host(url: str, host: str, port: int | None) -> str:
    parts = urlsplit(url)
    userinfo, _, _ = parts.netloc.rpartition("@")
    netloc = (f"{userinfo}@" if userinfo else "") + host + (f":{port}" if port else "")
    return urlunsplit(parts._replace(netloc=netloc))


def for_prisma(url: str) -> PrismaUrls:
    """DATABASE_URL as the vendor documents it for Prisma, and the matching DIRECT_URL."""
    pooler = pooler_of(url) if is_url(url) else None
    if pooler == "supabase-transaction":
        wanted = {
            "sslmode": "require",
            "pgbouncer": "true",
            "connection_limit": SERVERLESS_CONNECTION_LIMIT,
        }
        app = with_params(url, wanted)
        direct = _set_host(
            without_params(app, frozenset({"pgbouncer", "connection_limit", "pool_timeout"})),
            url_host(url),
            SUPABASE_SESSION_PORT,
        )
    elif pooler == "neon-pooled":
        wanted = {"sslmode": "require", "connect_timeout": NEON_CONNECT_TIMEOUT}
        app = with_params(url, wanted)
        match = _NEON_POOLED.match(url_host(url))
        assert match is not None
        direct = _set_host(
            without_params(app, frozenset({"pgbouncer", "connection_limit", "pool_timeout"})),
            f"{match.group(1)}.{match.group(2)}",
            url_port(url),
        )
    else:
        return PrismaUrls(url, None, (), None)
    have = set(query_params(url))
    added = tuple(k for k in wanted if k not in have)
    return PrismaUrls(app, direct, added, pooler)
