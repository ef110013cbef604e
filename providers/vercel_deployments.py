"""Vercel deployments: the current production one, redeploys, their state, build logs, promote.

Shapes from Vercel's OpenAPI description (vercel/sdk ``vercel-spec.json``):
``POST /v13/deployments`` (``name``, ``deploymentId`` to redeploy, ``target``, ``gitSource``),
``GET /v13/deployments/{idOrUrl}`` (``readyState``), ``GET /v6/deployments`` (listing,
newest first), ``GET /v3/deployments/{idOrUrl}/events`` (build log), and
``POST /v10/projects/{projectId}/promote/{deploymentId}`` (instant rollback).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from providers.errors import ProviderError
from providers.vercel import SERVICE, VercelClient

FINAL_STATES = frozenset({"READY", "ERROR", "CANCELED"})
LISTING_LIMIT = 20


@dataclass(frozen=True)
class Deployment:
    id: str
    url: str
    state: str  # QUEUED | INITIALIZING | BUILDING | READY | ERROR | CANCELED
    target: str | None
    created_at: int  # ms since the epoch
    error: str = ""  # Vercel's errorMessage on ERROR

    @property
    def final(self) -> bool:
        return self.state in FINAL_STATES

    @classmethod
    def from_json(cls, raw: Mapping[str, Any]) -> Deployment:
        created = raw.get("createdAt") or raw.get("created") or 0
        return cls(
            id=str(raw.get("id") or raw.get("uid") or ""),
            url=str(raw.get("url") or ""),
            state=str(raw.get("readyState") or raw.get("state") or "").upper(),
            target=str(raw["target"]) if raw.get("target") else None,
            created_at=int(created) if isinstance(created, int | float) else 0,
            error=str(raw.get("errorMessage") or ""),
        )


@dataclass(frozen=True)
class GitLink:
    """The Git repository a project deploys from (``project.link``)."""

    type: str
    org: str
    repo: str
    repo_id: int | None
    production_branch: str

    @classmethod
    def of(cls, project: Mapping[str, Any]) -> GitLink | None:
        link = project.get("link")
        if not isinstance(link, dict) or link.get("type") not in ("github", "github-limited"):
            return None
        repo_id = link.get("repoId")
        return cls(
            type=str(link["type"]),
            org=str(link.get("org") or ""),
            repo=str(link.get("repo") or ""),
            repo_id=int(repo_id) if isinstance(repo_id, int | float) else None,
            production_branch=str(link.get("productionBranch") or "main"),
        )

    def git_source(self) -> dict[str, Any]:
        if self.repo_id is not None:
            return {"type": self.type, "repoId": self.repo_id, "ref": self.production_branch}
        return {
            "type": self.type,
            "org": self.org,
            "repo": self.repo,
            "ref": self.production_branch,
        }


def production_of(project: Mapping[str, Any]) -> tuple[str, int] | None:
    """The current production deployment's id and creation time, from ``project.targets``."""
    targets = project.get("targets")
    production = targets.get("production") if isinstance(targets, dict) else None
    if not isinstance(production, dict) or not production.get("id"):
        return None
    created = production.get("createdAt") or 0
    return str(production["id"]), int(created) if isinstance(created, int | float) else 0


class DeploymentsClient(VercelClient):
    """The project's deployments, over the same scoped, retrying client as its env."""

    async def deployment(self, deployment_id: str) -> Deployment:
        path = f"/v13/deployments/{quote(deployment_id, safe='')}"
        body = (await self._request("GET", path, key="deployment")).json()
        return Deployment.from_json(body if isinstance(body, dict) else {})

    async def production_deployments(self, project_id: str) -> list[Deployment]:
        """Recent production deployments of the project, newest first (one page)."""
        params = {"projectId": project_id, "target": "production", "limit": str(LISTING_LIMIT)}
        body = (await self._request("GET", "/v6/deployments", params=params)).json()
        raw = body.get("deployments") if isinstance(body, dict) else None
        items = [Deployment.from_json(d) for d in raw or [] if isinstance(d, dict)]
        return sorted(items, key=lambda d: d.created_at, reverse=True)

    async def redeploy(self, project_name: str, deployment_id: str) -> Deployment:
        """A new production deployment of the same source as ``deployment_id``: Vercel
        builds it with the project's current environment variables."""
        body = {
            "name": project_name,
            "deploymentId": deployment_id,
            "target": "production",
            "meta": {"action": "redeploy"},
        }
        return await self._create(body)

    async def deploy_branch(self, project_name: str, link: GitLink) -> Deployment:
        """The first production deployment, from the linked repository's production branch."""
        body = {"name": project_name, "target": "production", "gitSource": link.git_source()}
        return await self._create(body)

    async def _create(self, body: dict[str, Any]) -> Deployment:
        # Not idempotent: a lost answer must not create a second deployment, so no retry
        # of a dropped connection (the step finds an orphan by listing instead).
        response = await self._request("POST", "/v13/deployments", json=body, idempotent=False)
        raw = response.json()
        deployment = Deployment.from_json(raw if isinstance(raw, dict) else {})
        if not deployment.id:
            raise ProviderError(SERVICE, "the deployment was accepted without an id")
        return deployment

    async def build_log(self, deployment_id: str, lines: int = 30) -> list[str]:
        """The last ``lines`` lines of the deployment's build output."""
        path = f"/v3/deployments/{quote(deployment_id, safe='')}/events"
        params = {"direction": "backward", "limit": str(lines * 4)}
        body = (await self._request("GET", path, params=params)).json()
        events = body if isinstance(body, list) else []
        texts: list[tuple[int, str]] = []
        for event in events:
            if not isinstance(event, dict):
                continue
            inner = event.get("payload")
            payload: dict[str, Any] = inner if isinstance(inner, dict) else event
            text = payload.get("text")
            if event.get("type") in ("stdout", "stderr", "command", "fatal") and text:
                serial = payload.get("date") or event.get("created") or 0
                for line in str(text).splitlines():
                    texts.append((int(serial) if isinstance(serial, int | float) else 0, line))
        texts.sort(key=lambda item: item[0])
        return [line for _, line in texts][-lines:]

    async def promote(self, project_id: str, deployment_id: str) -> None:
        path = f"/v10/projects/{quote(project_id, safe='')}/promote/{quote(deployment_id, safe='')}"
        await self._request("POST", path, idempotent=True, key="deployment")
