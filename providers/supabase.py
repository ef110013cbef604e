"""Supabase Management API (``https://api.supabase.com/v1``, personal access token).

Two reads: the projects the token sees, and a project's pooler configuration, from which
``pooler_url`` builds the transaction-pooler connection string with the user's password
(the API only ever shows a placeholder for it).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import httpx

from providers.errors import AuthError, BadRequest, NotFound
from providers.http import BearerApi

SERVICE = "Supabase"
DEFAULT_URL = "https://api.supabase.com"
URL_VARIABLE = "SUPABASE_API_URL"
TOKEN_KEY = "SUPABASE_ACCESS_TOKEN"
TRANSACTION_PORT = 6543  # Supavisor's transaction mode: what serverless functions need
TOKEN_HINT = "create a personal access token at https://supabase.com/dashboard/account/tokens"


@dataclass(frozen=True)
class SupabaseProject:
    ref: str
    name: str
    region: str
    status: str


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
