"""Supabase Management API (``https://api.supabase.com/v1``, personal access token).

Three reads: the projects the token sees; a project's pooler configuration, from which
``pooler_url`` builds the transaction-pooler connection string with the user's password
(the API only ever shows a placeholder for it); and a project's backups
(``GET /v1/projects/{ref}/database/backups``: the restorable backups with their status and
time, and whether point-in-time recovery and WAL-G are on).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlsplit

import httpx

from providers.database_urls import supabase_ref
from providers.errors import AuthError, BadRequest, NotFound, PermissionDenied
from providers.http import BearerApi

SERVICE = "Supabase"
DEFAULT_URL = "https://api.supabase.com"
URL_VARIABLE = "SUPABASE_API_URL"
TOKEN_KEY = "SUPABASE_ACCESS_TOKEN"
TRANSACTION_PORT = 6543  # Supavisor's transaction mode: what serverless functions need
TOKEN_HINT = "create a personal access token at https://supabase.com/dashboard/account/tokens"
DASHBOARD_URL = "https://supabase.com/dashboard"
# A project ref as the Management API describes it: 20 lower-case letters.
_REF = re.compile(r"^[a-z]{20}$")


@dataclass(frozen=True)
class SupabaseProject:
    ref: str
    name: str
    region: str
    status: str


@dataclass(frozen=True)
class Backup:
    id: int
    status: str  # COMPLETED, FAILED, PENDING, REMOVED, ARCHIVED, CANCELLED
    inserted_at: str
    physical: bool


@dataclass(frozen=True)
class Backups:
    """A project's backups, as ``GET /v1/projects/{ref}/database/backups`` answers."""

    region: str
    pitr_enabled: bool
    walg_enabled: bool
    backups: tuple[Backup, ...]
    # The newest physical backup (unix seconds), when the answer says.
    latest_physical: int | None = None


def project_ref(url: str) -> str | None:
    """The Supabase project ref a connection string names, else None: the direct host
    ``db.<ref>.supabase.co``, or Supavisor's ``*.pooler.supabase.com`` with the user
    ``postgres.<ref>`` (the pooler tells projects apart by the user name)."""
    try:
        parts = urlsplit(url.strip())
        host, user = (parts.hostname or "").lower(), parts.username or ""
    except ValueError:
        return None
    if (direct := supabase_ref(host)) is not None:
        return direct if _REF.match(direct) else None
    if host.endswith(".pooler.supabase.com") and "." in user:
        ref = user.rsplit(".", 1)[1].lower()
        return ref if _REF.match(ref) else None
    return None


def _list(value: Any) -> list[dict[str, Any]]:
    return [v for v in value if isinstance(v, dict)] if isinstance(value, list) else []


def backups_page(ref: str, *, pitr: bool = False) -> str:
    """The dashboard page of the project's backups (scheduled ones, or PITR)."""
    tab = "pitr" if pitr else "scheduled"
    return f"{DASHBOARD_URL}/project/{quote(ref, safe='')}/database/backups/{tab}"


class SupabaseClient(BearerApi):
    SERVICE = SERVICE
    URL_VARIABLE = URL_VARIABLE
    DEFAULT_URL = DEFAULT_URL
    HEADERS = {"Accept": "application/json"}

    def __init__(self, token: str, base_url: str = DEFAULT_URL, **kwargs: Any) -> None:
        super().__init__(token, base_url=base_url, **kwargs)

    async def list_projects(self) -> list[SupabaseProject]:
        try:
            body = await self._http.get_json("/v1/projects", key=TOKEN_KEY)
        except AuthError as exc:
            exc.hint = TOKEN_HINT
            raise
        if not isinstance(body, list):
            raise BadRequest(SERVICE, "unexpected answer to GET /v1/projects", key=TOKEN_KEY)
        return [
            SupabaseProject(
                ref=str(p.get("ref") or p.get("id") or ""),
                name=str(p.get("name") or ""),
                region=str(p.get("region") or ""),
                status=str(p.get("status") or ""),
            )
            for p in body
            if isinstance(p, dict) and (p.get("ref") or p.get("id"))
        ]

    async def pooler_config(self, ref: str) -> list[dict[str, Any]]:
        body = await self._http.get_json(
            f"/v1/projects/{quote(ref, safe='')}/config/database/pooler",
            key="supabase_project",
            hint="check the project ref (the id in the dashboard URL) and the token's access",
        )
        entries = body if isinstance(body, list) else [body]
        return [e for e in entries if isinstance(e, dict)]

    async def backups(self, ref: str) -> Backups:
        """``GET /v1/projects/{ref}/database/backups`` (a read: OAuth scope database:read)."""
        path = f"/v1/projects/{quote(ref, safe='')}/database/backups"
        try:
            body = await self._http.get_json(path, key=TOKEN_KEY)
        except AuthError as exc:
            exc.hint = TOKEN_HINT
            raise
        except PermissionDenied as exc:
            exc.hint = (
                f"the token's account may not read the backups of project {ref}: use a token "
                "of a member with access to it"
            )
            raise
        except NotFound as exc:
            exc.key = "supabase_project"
            exc.hint = f"project {ref} is not visible to this token: check the project ref"
            raise
        if not isinstance(body, dict):
            raise BadRequest(SERVICE, f"unexpected answer to GET {path}", key=TOKEN_KEY)
        physical = body.get("physical_backup_data")
        latest = (
            physical.get("latest_physical_backup_date_unix") if isinstance(physical, dict) else None
        )
        return Backups(
            region=str(body.get("region") or ""),
            pitr_enabled=body.get("pitr_enabled") is True,
            walg_enabled=body.get("walg_enabled") is True,
            backups=tuple(
                Backup(
                    id=b["id"] if isinstance(b.get("id"), int) else 0,
                    status=str(b.get("status") or "").upper(),
                    inserted_at=str(b.get("inserted_at") or ""),
                    physical=b.get("is_physical_backup") is True,
                )
                for b in _list(body.get("backups"))
            ),
            latest_physical=latest
            if isinstance(latest, int) and not isinstance(latest, bool)
            else None,
        )


async def list_projects(
    token: str, base_url: str = DEFAULT_URL, *, transport: httpx.AsyncBaseTransport | None = None
) -> list[SupabaseProject]:
    """The projects ``token`` can see (for the TUI's picker)."""
    async with SupabaseClient(token, base_url, transport=transport) as client:
        return await client.list_projects()


async def get_pooler_config(
    token: str,
    ref: str,
    base_url: str = DEFAULT_URL,
    *,
    transport: httpx.AsyncBaseTransport | None = None,
) -> list[dict[str, Any]]:
    async with SupabaseClient(token, base_url, transport=transport) as client:
        return await client.pooler_config(ref)


def _primary(config: Sequence[Mapping[str, Any]] | Mapping[str, Any]) -> Mapping[str, Any]:
    entries = [config] if isinstance(config, Mapping) else list(config)
    primaries = [e for e in entries if str(e.get("database_type", "PRIMARY")).upper() == "PRIMARY"]
    if not primaries:
        raise NotFound(
            SERVICE, "the project has no primary database pooler", key="supabase_project"
        )
    # Prefer an entry already in transaction mode: its port is the one to use.
    primaries.sort(key=lambda e: str(e.get("pool_mode", "")).lower() != "transaction")
    return primaries[0]


def pooler_url(config: Sequence[Mapping[str, Any]] | Mapping[str, Any], password: str) -> str:
    """The transaction-pooler DATABASE_URL from GET .../config/database/pooler and the
    database password (URL-encoded here: passwords often hold @ : / ?)."""
    if not password:
        raise BadRequest(
            SERVICE,
            "the database password is empty",
            key="database_password",
            hint="enter the database password (Project Settings → Database)",
        )
    entry = _primary(config)
    user, host = entry.get("db_user"), entry.get("db_host")
    if not user or not host:
        raise BadRequest(
            SERVICE, "the pooler configuration has no user or host", key="supabase_project"
        )
    in_transaction_mode = str(entry.get("pool_mode", "")).lower() == "transaction"
    # Supavisor serves session mode on 5432 and transaction mode on 6543 of the same host.
    port = (
        entry.get("db_port") if in_transaction_mode and entry.get("db_port") else TRANSACTION_PORT
    )
    db = entry.get("db_name") or "postgres"
    return (
        f"postgresql://{quote(str(user), safe='')}:{quote(password, safe='')}@{host}:{port}/"
        f"{quote(str(db), safe='')}?sslmode=require"
    )
