"""Vercel REST client: token, project, and the project's environment variables.

Shapes follow vercel/sdk (createProjectEnv, filterProjectEnvs, getProjectEnv,
editProjectEnv). Team projects need ``teamId`` on every project call, so the client adds
it to each of those when it has one (``GET /v2/user`` takes no parameters). Values never
leave this module except in request bodies.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import httpx

from providers.errors import AuthError, ProviderError
from providers.http import BearerApi, map_error

SERVICE = "Vercel"
DEFAULT_BASE_URL = "https://api.vercel.com"
TOKEN_URL = "https://vercel.com/account/tokens"
TOKEN_HINT = f"create a token at {TOKEN_URL} and set VERCEL_TOKEN"
TARGETS = ("production", "preview", "development")
# Values of these types are never returned by the API.
UNREADABLE_TYPES = frozenset({"sensitive", "secret"})


def _targets(raw: Any) -> tuple[str, ...]:
    # The API answers either a list or a single string.
    if isinstance(raw, str):
        return (raw,)
    if isinstance(raw, list):
        return tuple(str(t) for t in raw)
    return ()


@dataclass(frozen=True)
class EnvVar:
    """One environment variable entry of a project (one key, one or more targets)."""

    id: str
    key: str
    type: str
    targets: tuple[str, ...]
    git_branch: str | None = None
    custom_environment_ids: tuple[str, ...] = ()
    # The clear value, only when the service gave it (plain type, or a decrypted read).
    value: str | None = field(default=None, repr=False)
    updated_at: int | None = None

    @classmethod
    def from_json(cls, raw: Mapping[str, Any]) -> EnvVar:
        kind = str(raw.get("type") or "")
        clear = raw.get("decrypted") is True or kind == "plain"
        value = raw.get("value") if clear and kind not in UNREADABLE_TYPES else None
        updated = raw.get("updatedAt")
        return cls(
            id=str(raw.get("id") or ""),
            key=str(raw.get("key") or ""),
            type=kind,
            targets=_targets(raw.get("target")),
            git_branch=raw.get("gitBranch") or None,
            custom_environment_ids=tuple(raw.get("customEnvironmentIds") or ()),
            value=value if isinstance(value, str) else None,
            updated_at=updated if isinstance(updated, int) else None,
        )

    @property
    def readable(self) -> bool:
        return self.type not in UNREADABLE_TYPES


@dataclass(frozen=True)
class NewEnv:
    """One item of the batch create/upsert body."""

    key: str
    value: str = field(repr=False)
    type: str
    targets: tuple[str, ...]

    def to_json(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "value": self.value,
            "type": self.type,
            "target": list(self.targets),
        }


@dataclass(frozen=True)
class FailedEnv:
    key: str | None
    code: str
    message: str


@dataclass(frozen=True)
class UpsertResult:
    created: tuple[EnvVar, ...]
    failed: tuple[FailedEnv, ...]


def _error_body(response: httpx.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        return {}
    err = body.get("error") if isinstance(body, dict) else None
    return err if isinstance(err, dict) else {}


class VercelClient(BearerApi):
    """Thin async client over the shared ServiceClient (retries, timeouts, errors)."""

    SERVICE = SERVICE
    URL_VARIABLE = "VERCEL_API_URL"
    DEFAULT_URL = DEFAULT_BASE_URL
    HEADERS = {"Accept": "application/json"}

    def __init__(self, token: str, *, team_id: str | None = None, **kwargs: Any) -> None:
        self.team_id = team_id or None
        super().__init__(token, **kwargs)

    # -- plumbing --------------------------------------------------------------
    def _scope_hint(self) -> str:
        if self.team_id:
            return (
                f"check that the token's account belongs to team {self.team_id} (VERCEL_ORG_ID) "
                "and can see the project"
            )
        return "for a team project set VERCEL_ORG_ID to the team id (team_…)"

    async def _request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str] | None = None,
        json: Any = None,
        idempotent: bool | None = None,
        key: str | None = None,
        not_found_hint: str = "",
        scoped: bool = True,
    ) -> httpx.Response:
        query = dict(params or {})
        if self.team_id and scoped:
            query["teamId"] = self.team_id
        # 401/403/404 come back to us so the error can say what to fix; Vercel's
        # rate limits are 429, which the shared client still retries.
        response = await self._http.request(
            method,
            path,
            params=query,
            json=json,
            idempotent=idempotent,
            ok=(401, 403, 404),
            key=key,
        )
        status = response.status_code
        if status < 400:
            return response
        err = _error_body(response)
        if status == 401 or (status == 403 and err.get("invalidToken")):
            raise AuthError(
                SERVICE,
                f"HTTP {status}: the token was rejected",
                key="VERCEL_TOKEN",
                hint=TOKEN_HINT,
                status=status,
            )
        if status == 403:
            raise map_error(SERVICE, response, key=key, hint=self._scope_hint())
        raise map_error(SERVICE, response, key=key, hint=not_found_hint or self._scope_hint())

    @staticmethod
    def _project_path(project: str) -> str:
        return f"/projects/{quote(project, safe='')}"

    # -- reads -----------------------------------------------------------------
    async def user(self) -> dict[str, Any]:
        """``GET /v2/user``: checks the token."""
        # The user is not a team resource: /v2/user declares no parameters, teamId included.
        body = (await self._request("GET", "/v2/user", key="VERCEL_TOKEN", scoped=False)).json()
        user = body.get("user") if isinstance(body, dict) else None
        return user if isinstance(user, dict) else {}

    async def project(self, id_or_name: str) -> dict[str, Any]:
        """``GET /v9/projects/{idOrName}``."""
        where = f"team {self.team_id}" if self.team_id else "the token's personal account"
        hint = f"no project {id_or_name!r} in {where}: check VERCEL_PROJECT_ID"
        if not self.team_id:
            hint += "; " + self._scope_hint()
        body = (
            await self._request(
                "GET",
                "/v9" + self._project_path(id_or_name),
                key="VERCEL_PROJECT_ID",
                not_found_hint=hint,
            )
        ).json()
        return body if isinstance(body, dict) else {}

    async def list_env(self, project: str) -> list[EnvVar]:
        """``GET /v10/projects/{idOrName}/env``: every entry, values only when plain."""
        body = (
            await self._request(
                "GET", "/v10" + self._project_path(project) + "/env", key="VERCEL_PROJECT_ID"
            )
        ).json()
        if isinstance(body, dict) and isinstance(body.get("envs"), list):
            raw = body["envs"]
        elif isinstance(body, list):
            raw = body
        elif isinstance(body, dict) and "key" in body:
            raw = [body]
        else:
            raw = []
        return [EnvVar.from_json(item) for item in raw if isinstance(item, dict)]

    async def read_env(self, project: str, env_id: str, *, key: str | None = None) -> EnvVar:
        """``GET /v1/projects/{idOrName}/env/{id}``: one entry with its decrypted value
        (none for sensitive entries)."""
        path = "/v1" + self._project_path(project) + f"/env/{quote(env_id, safe='')}"
        body = (await self._request("GET", path, key=key)).json()
        return EnvVar.from_json(body if isinstance(body, dict) else {})

    # -- writes ----------------------------------------------------------------
    async def upsert_env(self, project: str, items: Sequence[NewEnv]) -> UpsertResult:
        """One ``POST /v10/projects/{id}/env?upsert=true`` with an array body.

        Upsert makes the POST safe to repeat after a lost answer: an existing entry for
        exactly the same key and targets is updated in place, never duplicated."""
        response = await self._request(
            "POST",
            "/v10" + self._project_path(project) + "/env",
            params={"upsert": "true"},
            json=[item.to_json() for item in items],
            idempotent=True,
        )
        body = response.json()
        if not isinstance(body, dict):
            raise ProviderError(SERVICE, "unexpected answer to the environment variable upsert")
        created_raw = body.get("created")
        if isinstance(created_raw, dict):
            created_raw = [created_raw]
        created = tuple(
            EnvVar.from_json(item) for item in (created_raw or []) if isinstance(item, dict)
        )
        failed: list[FailedEnv] = []
        for item in body.get("failed") or []:
            err = item.get("error") if isinstance(item, dict) else None
            if not isinstance(err, dict):
                continue
            failed.append(
                FailedEnv(
                    key=err.get("key") or err.get("envVarKey"),
                    code=str(err.get("code") or "error"),
                    message=str(err.get("message") or ""),
                )
            )
        return UpsertResult(created, tuple(failed))

    async def set_env_targets(
        self, project: str, env_id: str, targets: Sequence[str], *, key: str | None = None
    ) -> EnvVar:
        """``PATCH /v9/projects/{id}/env/{envId}`` with only ``target``: narrows an entry
        shared by several environments without touching its value."""
        path = "/v9" + self._project_path(project) + f"/env/{quote(env_id, safe='')}"
        body = (
            await self._request(
                "PATCH", path, json={"target": list(targets)}, idempotent=True, key=key
            )
        ).json()
        return EnvVar.from_json(body if isinstance(body, dict) else {})
