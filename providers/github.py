"""GitHub REST client for Actions secrets (repository or environment scope).

Shapes follow github/docs and octokit's endpoint methods: ``GET /user`` (classic tokens
list their scopes in ``X-OAuth-Scopes``), ``GET /repos/{o}/{r}``, the secrets
``public-key``, the secret list (names only: values are never readable) and
``PUT .../secrets/{name}`` with a libsodium sealed box (201 created, 204 updated). One read
of Actions: the latest workflow run on a branch (``GET .../actions/runs``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import httpx
from nacl.encoding import Base64Encoder
from nacl.public import PublicKey, SealedBox

from providers.errors import (
    AuthError,
    BadRequest,
    NotFound,
    PermissionDenied,
    ProviderError,
    rehinted,
)
from providers.http import BearerApi, PageGuard

SERVICE = "GitHub"
DEFAULT_BASE_URL = "https://api.github.com"
API_VERSION = "2022-11-28"
TOKEN_URL = "https://github.com/settings/personal-access-tokens"
TOKEN_HINT = (
    f"create a token at {TOKEN_URL} (fine-grained, Secrets: read and write on the repository) "
    "and set GITHUB_TOKEN"
)
MAX_SECRET_BYTES = 48 * 1024
PER_PAGE = 100


@dataclass(frozen=True)
class SecretsKey:
    """The public key secrets must be sealed with, and its id for the PUT."""

    key_id: str
    key: str


@dataclass(frozen=True)
class WorkflowRun:
    """One workflow run, as ``GET /repos/{o}/{r}/actions/runs`` lists it (service text)."""

    name: str  # the workflow's name (or its run title when it has none)
    number: int
    status: str  # queued, in_progress, completed, waiting, requested, pending
    conclusion: str  # success, failure, cancelled, timed_out, ... ("" until completed)
    html_url: str
    created_at: str


def require_repo_scope(scopes: frozenset[str] | None, hint: str) -> None:
    """A classic token says its scopes (X-OAuth-Scopes): without ``repo`` it can do nothing
    the wizard asks of a repository. Fine-grained tokens (``scopes`` None) answer 403/404."""
    if scopes is not None and "repo" not in scopes:
        raise PermissionDenied(
            SERVICE,
            "the classic token lacks the repo scope ("
            + (", ".join(sorted(scopes)) or "no scopes")
            + ")",
            key="GITHUB_TOKEN",
            hint=hint,
        )


def seal(public_key: str, value: str) -> str:
    """Encrypt ``value`` for GitHub: sealed box with the base64 public key, base64 out."""
    box = SealedBox(PublicKey(public_key.encode(), encoder=Base64Encoder))
    return box.encrypt(value.encode("utf-8"), encoder=Base64Encoder).decode("ascii")


def split_repository(repo: str) -> tuple[str, str]:
    owner, _, name = repo.strip().partition("/")
    if not owner or not name or "/" in name:
        raise BadRequest(
            SERVICE,
            "the repository must be written owner/name",
            key="GITHUB_REPOSITORY",
            hint="set GITHUB_REPOSITORY to owner/name",
        )
    return owner, name


def repo_path(repo: str) -> str:
    """``/repos/{owner}/{name}``, each part quoted."""
    owner, name = split_repository(repo)
    return f"/repos/{quote(owner, safe='')}/{quote(name, safe='')}"


def secrets_path(repo: str, environment: str | None = None) -> str:
    base = repo_path(repo)
    if environment:
        return f"{base}/environments/{quote(environment, safe='')}/secrets"
    return f"{base}/actions/secrets"


def variables_path(repo: str, environment: str | None = None) -> str:
    return secrets_path(repo, environment).removesuffix("/secrets") + "/variables"


class GitHubClient(BearerApi):
    """Thin async client over the shared ServiceClient (retries incl. 403 rate limits)."""

    SERVICE = SERVICE
    URL_VARIABLE = "GITHUB_API_URL"
    DEFAULT_URL = DEFAULT_BASE_URL
    HEADERS = {"Accept": "application/vnd.github+json", "X-GitHub-Api-Version": API_VERSION}

    async def _request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        key: str | None = None,
        forbidden: str = "",
        not_found: str = "",
        invalid: str = "",
    ) -> httpx.Response:
        # Rate limits (403/429 with their headers) are retried by the shared client
        # first; what is left is a real error, re-raised with what the user can do.
        try:
            return await self._http.request(method, path, params=params, json=json, key=key)
        except AuthError as exc:
            raise rehinted(exc, key="GITHUB_TOKEN", hint=TOKEN_HINT) from None
        except PermissionDenied as exc:
            raise rehinted(exc, key=key, hint=forbidden or exc.hint) from None
        except NotFound as exc:
            raise rehinted(exc, key=key, hint=not_found or exc.hint) from None
        except BadRequest as exc:
            raise rehinted(exc, key=key, hint=invalid or exc.hint) from None

    # -- reads -----------------------------------------------------------------
    async def user(self) -> tuple[dict[str, Any], frozenset[str] | None]:
        """``GET /user``: the token's user, and its classic scopes (None when the token
        is fine-grained or an app token, which carry no X-OAuth-Scopes header)."""
        response = await self._request(
            "GET",
            "/user",
            key="GITHUB_TOKEN",
            forbidden="this token cannot act as a user (an Actions or app token?): " + TOKEN_HINT,
        )
        header = response.headers.get("x-oauth-scopes")
        scopes = (
            None if header is None else frozenset(s.strip() for s in header.split(",") if s.strip())
        )
        body = response.json()
        return (body if isinstance(body, dict) else {}), scopes

    async def repository(self, repo: str) -> dict[str, Any]:
        body = (
            await self._request(
                "GET",
                repo_path(repo),
                key="GITHUB_REPOSITORY",
                not_found=(
                    f"no repository {repo} visible to this token: check GITHUB_REPOSITORY; a "
                    "fine-grained token must be given access to this repository"
                ),
                forbidden=f"the token may not read {repo}: give it access to the repository",
            )
        ).json()
        return body if isinstance(body, dict) else {}

    async def environment(self, repo: str, environment: str) -> dict[str, Any]:
        path = f"{repo_path(repo)}/environments/{quote(environment, safe='')}"
        body = (
            await self._request(
                "GET",
                path,
                key="github_environment",
                not_found=(
                    f"no environment {environment!r} in {repo}: create it under Settings → "
                    "Environments, or leave the Actions environment empty for repository secrets"
                ),
            )
        ).json()
        return body if isinstance(body, dict) else {}

    async def latest_run(self, repo: str, branch: str) -> WorkflowRun | None:
        """The newest workflow run on ``branch`` (runs are listed newest first), or None."""
        body = (
            await self._request(
                "GET",
                f"{repo_path(repo)}/actions/runs",
                params={"branch": branch, "per_page": 1, "exclude_pull_requests": "true"},
                key="GITHUB_TOKEN",
                forbidden=(
                    f"the token may not read the Actions runs of {repo}: a fine-grained token "
                    f"needs Actions: read on the repository, a classic one the repo scope "
                    f"({TOKEN_URL})"
                ),
                not_found=f"no repository {repo} visible to this token: check GITHUB_REPOSITORY",
            )
        ).json()
        runs = body.get("workflow_runs") if isinstance(body, dict) else None
        run = runs[0] if isinstance(runs, list) and runs and isinstance(runs[0], dict) else None
        if run is None:
            return None
        number = run.get("run_number")
        return WorkflowRun(
            name=str(run.get("name") or run.get("display_title") or "workflow"),
            number=number if isinstance(number, int) and not isinstance(number, bool) else 0,
            status=str(run.get("status") or ""),
            conclusion=str(run.get("conclusion") or ""),
            html_url=str(run.get("html_url") or ""),
            created_at=str(run.get("created_at") or ""),
        )

    def _secrets_forbidden(self, repo: str, environment: str | None) -> str:
        perm = "Environments: read and write" if environment else "Secrets: read and write"
        return (
            f"the token may not manage Actions secrets of {repo}: a fine-grained token needs "
            f"{perm} on the repository, a classic one the repo scope ({TOKEN_URL})"
        )

    async def public_key(self, repo: str, environment: str | None = None) -> SecretsKey:
        """``GET .../secrets/public-key``; reading it also proves the secrets permission."""
        body = (
            await self._request(
                "GET",
                secrets_path(repo, environment) + "/public-key",
                key="GITHUB_TOKEN",
                forbidden=self._secrets_forbidden(repo, environment),
                not_found=self._secrets_forbidden(repo, environment),
            )
        ).json()
        if not isinstance(body, dict) or not body.get("key") or not body.get("key_id"):
            raise ProviderError(SERVICE, "the secrets public key answer had no key")
        return SecretsKey(key_id=str(body["key_id"]), key=str(body["key"]))

    async def secret_names(self, repo: str, environment: str | None = None) -> dict[str, str]:
        """Names of the secrets already there (name -> updated_at); values never come back."""
        forbidden = self._secrets_forbidden(repo, environment)
        return await self._names(secrets_path(repo, environment), "secrets", PER_PAGE, forbidden)

    async def variable_names(self, repo: str, environment: str | None = None) -> dict[str, str]:
        """Names of the Actions variables (repository, or the environment's) -> updated_at."""
        perm = "Environments: read" if environment else "Variables: read"
        forbidden = (
            f"the token may not read the Actions variables of {repo}: a fine-grained token "
            f"needs {perm} on the repository, a classic one the repo scope ({TOKEN_URL})"
        )
        # The variables listing allows 30 a page, not 100.
        return await self._names(variables_path(repo, environment), "variables", 30, forbidden)

    async def _names(self, path: str, field: str, per_page: int, forbidden: str) -> dict[str, str]:
        names: dict[str, str] = {}
        guard = PageGuard(SERVICE, f"{field} listing", key="GITHUB_REPOSITORY")
        page = 1
        while guard.more_allowed():
            body = (
                await self._request(
                    "GET",
                    path,
                    params={"per_page": per_page, "page": page},
                    key="GITHUB_TOKEN",
                    forbidden=forbidden,
                    not_found=forbidden,
                )
            ).json()
            items = body.get(field) if isinstance(body, dict) else None
            if not isinstance(items, list):
                break
            page_names: dict[str, str] = {}
            for item in items:
                if isinstance(item, dict) and item.get("name"):
                    page_names[str(item["name"]).upper()] = str(item.get("updated_at") or "")
            names.update(page_names)
            total = body.get("total_count")
            # total_count alone is not trusted to end the listing: a page that is empty
            # or repeats what we have means there is no more.
            if not guard.fresh(page_names) or not isinstance(total, int) or len(names) >= total:
                break
            page += 1
        return names

    # -- writes ----------------------------------------------------------------
    async def put_secret(
        self,
        repo: str,
        name: str,
        encrypted_value: str,
        key_id: str,
        environment: str | None = None,
    ) -> bool:
        """``PUT .../secrets/{name}``; True when GitHub created it (201), False when it
        updated an existing one (204). A PUT is safe to repeat."""
        response = await self._request(
            "PUT",
            secrets_path(repo, environment) + "/" + quote(name, safe=""),
            json={"encrypted_value": encrypted_value, "key_id": key_id},
            key=name,
            forbidden=self._secrets_forbidden(repo, environment),
            not_found=self._secrets_forbidden(repo, environment),
            invalid="GitHub refused the secret: check its name and size (48 KB at most)",
        )
        return response.status_code == 201
