"""Sentry's web API (sentry.io or self-hosted, same paths under ``/api/0/``).

Token check ``GET /api/0/organizations/``; org ``GET /api/0/organizations/{org}/``; project
``GET /api/0/projects/{org}/{project}/``; client keys
``GET /api/0/projects/{org}/{project}/keys/`` (each with ``isActive`` and ``dsn.public``).
Lists paginate through ``Link: <...>; rel="next"; results="true"; cursor="..."``.
Key listings also carry the keys' secret halves: they are dropped on parsing. The project's
unresolved issues ``GET /api/0/projects/{org}/{project}/issues/?query=is:unresolved`` are
counted up to one page (``unresolved_issues``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import httpx

from providers.errors import AuthError, NotFound, PermissionDenied, rehinted
from providers.http import BearerApi, PageGuard

SERVICE = "Sentry"
TOKEN_KEY = "SENTRY_AUTH_TOKEN"
ORG_KEY = "SENTRY_ORG"
PROJECT_KEY = "SENTRY_PROJECT"
DEFAULT_URL = "https://sentry.io"
MAX_LIMIT = 100  # the issue listing's largest page

_NEXT = re.compile(r'<([^>]*)>;\s*rel="next";\s*results="true";\s*cursor="([^"]*)"')


@dataclass(frozen=True)
class Organization:
    slug: str
    name: str


@dataclass(frozen=True)
class Project:
    slug: str
    id: str
    name: str
    platform: str = ""


@dataclass(frozen=True)
class ClientKey:
    id: str
    name: str
    active: bool
    dsn_public: str


class SentryClient(BearerApi):
    SERVICE = SERVICE
    URL_VARIABLE = "SENTRY_URL"
    DEFAULT_URL = DEFAULT_URL

    async def _get(
        self,
        path: str,
        *,
        key: str,
        params: dict[str, str] | None = None,
        forbidden: str | None = None,
    ) -> httpx.Response:
        """One GET; a rejected or under-scoped token is always the token's fault
        (``forbidden``: what the token lacks for this read)."""
        try:
            return await self._http.request("GET", path, params=params, key=key)
        except AuthError as err:
            raise rehinted(
                err,
                key=TOKEN_KEY,
                hint="create a token at Settings → Auth Tokens (org:read, project:read) and "
                "set SENTRY_AUTH_TOKEN",
            ) from None
        except PermissionDenied as err:
            hint = forbidden or "the token needs org:read and project:read"
            raise rehinted(err, key=TOKEN_KEY, hint=hint) from None

    async def _pages(
        self, path: str, *, key: str, params: dict[str, str], forbidden: str | None = None
    ) -> list[Any]:
        items: list[Any] = []
        query = dict(params)
        guard = PageGuard(SERVICE, f"listing of {path}", key=key)
        while guard.more_allowed():
            response = await self._get(path, key=key, params=query, forbidden=forbidden)
            page = response.json()
            page = page if isinstance(page, list) else []
            items.extend(page)
            m = _NEXT.search(response.headers.get("link", ""))
            # A cursor that brings back only what we have would be followed forever.
            if not m or not guard.fresh_items(page):
                break
            query = {**params, "cursor": m.group(2)}
        return items

    async def list_organizations(self) -> list[Organization]:
        data = await self._pages("/api/0/organizations/", key=TOKEN_KEY, params={})
        return [
            Organization(slug=str(o.get("slug", "")), name=str(o.get("name", ""))) for o in data
        ]

    async def get_organization(self, org: str) -> Organization:
        try:
            data = await self._http.get_json(
                f"/api/0/organizations/{quote(org, safe='')}/", key=ORG_KEY
            )
        except NotFound as err:
            raise NotFound(
                SERVICE,
                f"organization {org!r} not found",
                key=ORG_KEY,
                hint="use the organization slug from sentry.io/organizations/<slug>/, and a "
                "token that belongs to it",
                status=err.status,
            ) from None
        return Organization(slug=str(data.get("slug", org)), name=str(data.get("name", "")))

    async def get_project(self, org: str, project: str) -> Project:
        path = f"/api/0/projects/{quote(org, safe='')}/{quote(project, safe='')}/"
        try:
            data = (await self._get(path, key=PROJECT_KEY)).json()
        except NotFound as err:
            raise NotFound(
                SERVICE,
                f"project {project!r} not found in organization {org!r}",
                key=PROJECT_KEY,
                hint="create it (platform Next.js) or use the project slug shown in its settings",
                status=err.status,
            ) from None
        return Project(
            slug=str(data.get("slug", project)),
            id=str(data.get("id", "")),
            name=str(data.get("name", "")),
            platform=str(data.get("platform") or ""),
        )

    async def unresolved_issues(self, org: str, project: str, *, cap: int = MAX_LIMIT) -> int:
        """How many unresolved issues the project has, counted up to ``cap`` (one page of
        the listing, at most 100): ``cap + 1`` stands for "more than ``cap``"."""
        cap = max(1, min(cap, MAX_LIMIT))
        path = f"/api/0/projects/{quote(org, safe='')}/{quote(project, safe='')}/issues/"
        # statsPeriod "" leaves out each issue's event histogram: only the count is wanted.
        params = {"query": "is:unresolved", "limit": str(cap), "statsPeriod": ""}
        try:
            response = await self._get(
                path,
                key=PROJECT_KEY,
                params=params,
                forbidden="listing issues needs the scope event:read: create a token with it "
                "at Settings → Auth Tokens",
            )
        except NotFound as err:
            raise NotFound(
                SERVICE,
                f"project {project!r} not found in organization {org!r}",
                key=PROJECT_KEY,
                hint="check SENTRY_ORG and SENTRY_PROJECT",
                status=err.status,
            ) from None
        page = response.json()
        count = len(page) if isinstance(page, list) else 0
        more = _NEXT.search(response.headers.get("link", "")) is not None
        return cap + 1 if count >= cap and more else min(count, cap)

    async def list_keys(
        self, org: str, project: str, *, active_only: bool = False
    ) -> list[ClientKey]:
        path = f"/api/0/projects/{quote(org, safe='')}/{quote(project, safe='')}/keys/"
        data = await self._pages(
            path,
            key=TOKEN_KEY,
            params={"status": "active"} if active_only else {},
            forbidden="the token cannot read the project's client keys (organization tokens "
            "sntrys_… only cover CI): use a token with project:read, or paste SENTRY_DSN "
            "from Project Settings → Client Keys",
        )
        keys = []
        for k in data:
            dsn = k.get("dsn") or {}
            keys.append(
                ClientKey(
                    id=str(k.get("id", "")),
                    name=str(k.get("name") or k.get("label") or ""),
                    active=bool(k.get("isActive", False)),
                    dsn_public=str(dsn.get("public") or ""),
                )
            )
        return keys


# -- alerting: Monitors (detectors) and Alerts (workflows), and the legacy rules -------------
# Paths: ``/api/0/organizations/{org}/detectors/`` (list; create under
# ``.../projects/{project}/detectors/``), ``/api/0/organizations/{org}/workflows/``, each with
# ``{id}/`` for PUT. Self-hosted Sentry before them has the (deprecated) issue alert rules
# ``/api/0/projects/{org}/{project}/rules/`` and metric alerts
# ``/api/0/organizations/{org}/alert-rules/``. Bodies are CamelSnake: camelCase keys.

ALERT_SCOPES = "alerts:read, alerts:write"


@dataclass(frozen=True)
class Team:
    id: str
    slug: str


def _o(org: str) -> str:
    return f"/api/0/organizations/{quote(org, safe='')}"


def _p(org: str, project: str) -> str:
    return f"/api/0/projects/{quote(org, safe='')}/{quote(project, safe='')}"


class SentryAlerts(SentryClient):
    """Typed reads and writes of a project's alerting; lists are plain JSON objects, the
    step compares only the fields it sets."""

    async def _send(self, method: str, path: str, body: dict[str, Any]) -> dict[str, Any]:
        try:
            response = await self._http.request(method, path, json=body, key=TOKEN_KEY)
        except PermissionDenied as err:
            hint = f"the token lacks the scope alerts:write ({method} {path}): create one with "
            raise rehinted(err, key=TOKEN_KEY, hint=hint + ALERT_SCOPES) from None
        data = response.json()
        return data if isinstance(data, dict) else {}

    async def _list(self, path: str, params: dict[str, str]) -> list[dict[str, Any]]:
        forbidden = f"the token lacks the scope alerts:read: create one with {ALERT_SCOPES}"
        items = await self._pages(path, key=TOKEN_KEY, params=params, forbidden=forbidden)
        return [i for i in items if isinstance(i, dict)]

    async def list_teams(self, org: str) -> list[Team]:
        data = await self._list(f"{_o(org)}/teams/", {})
        return [Team(id=str(t.get("id", "")), slug=str(t.get("slug", ""))) for t in data]

    async def list_detectors(self, org: str, project_id: str) -> list[dict[str, Any]]:
        """The project's monitors; NotFound where the server predates them."""
        return await self._list(f"{_o(org)}/detectors/", {"project": project_id})

    async def create_detector(self, org: str, project: str, body: dict[str, Any]) -> dict[str, Any]:
        path = f"{_o(org)}/projects/{quote(project, safe='')}/detectors/"
        return await self._send("POST", path, body)

    async def update_detector(self, org: str, detector_id: str, body: dict[str, Any]) -> None:
        await self._send("PUT", f"{_o(org)}/detectors/{quote(detector_id, safe='')}/", body)

    async def list_workflows(self, org: str, project_id: str) -> list[dict[str, Any]]:
        return await self._list(f"{_o(org)}/workflows/", {"project": project_id})

    async def create_workflow(self, org: str, body: dict[str, Any]) -> dict[str, Any]:
        return await self._send("POST", f"{_o(org)}/workflows/", body)

    async def update_workflow(self, org: str, workflow_id: str, body: dict[str, Any]) -> None:
        await self._send("PUT", f"{_o(org)}/workflows/{quote(workflow_id, safe='')}/", body)

    async def list_issue_rules(self, org: str, project: str) -> list[dict[str, Any]]:
        return await self._list(f"{_p(org, project)}/rules/", {})

    async def create_issue_rule(
        self, org: str, project: str, body: dict[str, Any]
    ) -> dict[str, Any]:
        return await self._send("POST", f"{_p(org, project)}/rules/", body)

    async def update_issue_rule(
        self, org: str, project: str, rule_id: str, body: dict[str, Any]
    ) -> None:
        await self._send("PUT", f"{_p(org, project)}/rules/{quote(rule_id, safe='')}/", body)

    async def list_metric_alerts(self, org: str, project: str) -> list[dict[str, Any]]:
        """The organization's metric alerts that cover ``project`` (the list takes no filter)."""
        rules = await self._list(f"{_o(org)}/alert-rules/", {})
        return [r for r in rules if project in (r.get("projects") or [])]

    async def list_project_teams(self, org: str, project: str) -> list[Team]:
        data = await self._list(f"{_p(org, project)}/teams/", {})
        return [Team(id=str(t.get("id", "")), slug=str(t.get("slug", ""))) for t in data]

    async def create_metric_alert(self, org: str, body: dict[str, Any]) -> dict[str, Any]:
        return await self._send("POST", f"{_o(org)}/alert-rules/", body)

    async def update_metric_alert(self, org: str, rule_id: str, body: dict[str, Any]) -> None:
        await self._send("PUT", f"{_o(org)}/alert-rules/{quote(rule_id, safe='')}/", body)
