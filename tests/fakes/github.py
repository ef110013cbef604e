"""A fake GitHub REST API for Actions secrets, on loopback.

It holds a real libsodium key pair: the public half is served by ``.../public-key``, the
private half opens what the client PUT, so tests compare the stored plaintext byte for
byte. Tokens are classic (``scopes`` set: an ``X-OAuth-Scopes`` header on every answer) or
fine-grained (``scopes=None``: no header, permissions checked per endpoint: 403
"Resource not accessible by personal access token"). Repositories a token cannot see
answer 404, as GitHub does.
"""

from __future__ import annotations

import base64
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import unquote

from nacl.encoding import Base64Encoder
from nacl.exceptions import CryptoError
from nacl.public import PrivateKey, SealedBox

from tests.fakes.base import FakeService, Reply, Request

NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
DOCS = "https://docs.github.com/rest"


@dataclass
class Token:
    login: str = "octocat"
    scopes: tuple[str, ...] | None = ("repo", "workflow")  # None: fine-grained
    repos: set[str] | None = None  # None: every repository
    secrets_write: bool = True  # fine-grained "Secrets" permission
    environments_write: bool = True  # fine-grained "Environments" permission
    variables_read: bool = True  # fine-grained "Variables" permission
    administration: bool = True  # fine-grained "Administration" permission
    actions_read: bool = True  # fine-grained "Actions" permission


@dataclass
class Secret:
    name: str
    plaintext: bytes = field(repr=False)
    created_at: str
    updated_at: str


@dataclass
class Repo:
    full_name: str
    private: bool = True
    secrets: dict[str, Secret] = field(default_factory=dict)
    environments: dict[str, dict[str, Secret]] = field(default_factory=dict)
    # Actions variables (name -> value): the repository's, and each environment's.
    variables: dict[str, str] = field(default_factory=dict)
    env_variables: dict[str, dict[str, str]] = field(default_factory=dict)
    # Safeguards: Dependabot alerts and security updates, and security_and_analysis.
    dependabot_alerts: bool = False
    security_updates: bool = False
    security: dict[str, str] = field(
        default_factory=lambda: {
            "secret_scanning": "disabled",
            "secret_scanning_push_protection": "disabled",
        }
    )
    # False: a private repository without GitHub Secret Protection (the PATCH answers 422).
    scanning_available: bool = True
    default_branch: str = "main"
    # Workflow runs, newest last: each {"name", "head_branch", "status", "conclusion", ...}.
    runs: list[dict[str, Any]] = field(default_factory=list)

    def add_run(
        self,
        name: str,
        *,
        branch: str | None = None,
        status: str = "completed",
        conclusion: str | None = "success",
        event: str = "push",
    ) -> dict[str, Any]:
        """A workflow run, as GitHub lists it (the newest is the last one added)."""
        number = len(self.runs) + 1
        run_id = 30433642 + number
        url = f"https://github.com/{self.full_name}/actions/runs/{run_id}"
        run = {
            "id": run_id,
            "name": name,
            "display_title": f"Commit {number}",
            "run_number": number,
            "head_branch": branch or self.default_branch,
            "event": event,
            "status": status,
            "conclusion": conclusion if status == "completed" else None,
            "html_url": url,
            "created_at": _now(),
            "updated_at": _now(),
            "pull_requests": [],
        }
        self.runs.append(run)
        return run


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _msg(status: int, message: str, headers: dict[str, str] | None = None) -> Reply:
    return Reply(status, {"message": message, "documentation_url": DOCS}, dict(headers or {}))


class FakeGitHub(FakeService):
    spec = "github"  # tests/api-specs/github.json.gz

    def __init__(self) -> None:
        super().__init__()
        self.private_key = PrivateKey.generate()
        self.key_id = "568250167242549743"
        self.tokens: dict[str, Token] = {}
        self.repos: dict[str, Repo] = {}
        # Faults of the secret listing: total_count above the names it returns, and the
        # page parameter ignored (every page is the first), as a caching proxy might.
        self.total_count_extra = 0
        self.pages_ignored = False
        self._routes_setup()

    def __enter__(self) -> FakeGitHub:
        self.start()
        return self

    # -- test helpers ------------------------------------------------------------
    def add_token(self, token: str, **kwargs: Any) -> Token:
        self.tokens[token] = Token(**kwargs)
        return self.tokens[token]

    def add_repo(self, full_name: str, *, environments: tuple[str, ...] = ()) -> Repo:
        repo = Repo(full_name, environments={env: {} for env in environments})
        self.repos[full_name.lower()] = repo
        return repo

    def secret(self, repo: str, name: str, environment: str | None = None) -> bytes | None:
        r = self.repos[repo.lower()]
        store = r.environments[environment] if environment else r.secrets
        found = store.get(name.upper())
        return found.plaintext if found else None

    @property
    def public_key(self) -> str:
        return self.private_key.public_key.encode(encoder=Base64Encoder).decode()

    def writes(self) -> list[Request]:
        return [r for r in self.requests() if r.method in ("POST", "PATCH", "PUT", "DELETE")]

    # -- internals ---------------------------------------------------------------
    def _token(self, req: Request) -> Token | Reply:
        token = self.tokens.get(req.bearer or "")
        if token is None:
            return _msg(401, "Bad credentials")
        return token

    def _headers(self, token: Token) -> dict[str, str]:
        if token.scopes is None:
            return {}
        return {"X-OAuth-Scopes": ", ".join(token.scopes), "X-Accepted-OAuth-Scopes": "repo"}

    def _repo(self, req: Request, token: Token) -> Repo | Reply:
        full = f"{req.params['owner']}/{req.params['repo']}".lower()
        repo = self.repos.get(full)
        visible = token.repos is None or full in {r.lower() for r in token.repos}
        if token.scopes is not None and "repo" not in token.scopes and repo and repo.private:
            visible = False  # classic token without repo scope sees no private repo
        if repo is None or not visible:
            return _msg(404, "Not Found", self._headers(token))
        return repo

    def _store(
        self, req: Request, token: Token, environment: str | None
    ) -> dict[str, Secret] | Reply:
        repo = self._repo(req, token)
        if isinstance(repo, Reply):
            return repo
        if token.scopes is None:
            allowed = token.environments_write if environment else token.secrets_write
            if not allowed:
                return _msg(403, "Resource not accessible by personal access token")
        if environment is None:
            return repo.secrets
        store = repo.environments.get(environment)
        if store is None:
            return _msg(404, "Not Found", self._headers(token))
        return store

    def _scoped(self, req: Request) -> tuple[Token, dict[str, Secret]] | Reply:
        token = self._token(req)
        if isinstance(token, Reply):
            return token
        env = req.params.get("env")
        store = self._store(req, token, unquote(env) if env is not None else None)
        if isinstance(store, Reply):
            return store
        return token, store

    def _repo_body(self, repo: Repo) -> dict[str, Any]:
        return {
            "full_name": repo.full_name,
            "html_url": f"https://github.com/{repo.full_name}",
            "default_branch": repo.default_branch,
            "private": repo.private,
            "permissions": {"admin": True, "maintain": True, "push": True, "pull": True},
            "security_and_analysis": {k: {"status": v} for k, v in repo.security.items()},
        }

    def _admin(self, req: Request) -> tuple[Token, Repo] | Reply:
        """A repository setting: needs admin (fine-grained: the Administration permission)."""
        token = self._token(req)
        if isinstance(token, Reply):
            return token
        repo = self._repo(req, token)
        if isinstance(repo, Reply):
            return repo
        if token.scopes is None and not token.administration:
            return _msg(403, "Resource not accessible by personal access token")
        return token, repo

    # -- routes ------------------------------------------------------------------
    def _routes_setup(self) -> None:
        @self.route("GET", "/user")
        def user(req: Request) -> Reply:
            token = self._token(req)
            if isinstance(token, Reply):
                return token
            body = {"login": token.login, "id": 583231, "type": "User", "user_view_type": "private"}
            return Reply(200, self.full(req, 200, body), self._headers(token))

        @self.route("GET", "/repos/{owner}/{repo}")
        def repo(req: Request) -> Reply:
            token = self._token(req)
            if isinstance(token, Reply):
                return token
            found = self._repo(req, token)
            if isinstance(found, Reply):
                return found
            return Reply(200, self.full(req, 200, self._repo_body(found)), self._headers(token))

        @self.route("PATCH", "/repos/{owner}/{repo}")
        def patch_repo(req: Request) -> Reply:
            admin = self._admin(req)
            if isinstance(admin, Reply):
                return admin
            token, found = admin
            body = req.json()
            wanted = body.get("security_and_analysis") if isinstance(body, dict) else None
            if isinstance(wanted, dict):
                if not found.scanning_available and any(
                    isinstance(v, dict) and v.get("status") == "enabled" for v in wanted.values()
                ):
                    return _msg(422, "Secret scanning is not available for this repository.")
                for feature, value in wanted.items():
                    if isinstance(value, dict) and value.get("status") in ("enabled", "disabled"):
                        found.security[feature] = value["status"]
            return Reply(200, self.full(req, 200, self._repo_body(found)), self._headers(token))

        def toggle(attribute: str) -> Any:
            def get(req: Request) -> Reply:
                admin = self._admin(req)
                if isinstance(admin, Reply):
                    return admin
                token, found = admin
                if attribute == "dependabot_alerts":
                    if not found.dependabot_alerts:
                        return _msg(404, "Not Found", self._headers(token))
                    return Reply(204, None, self._headers(token))
                if not found.dependabot_alerts:
                    return _msg(404, "Not Found", self._headers(token))
                body = {"enabled": found.security_updates, "paused": False}
                return Reply(200, self.full(req, 200, body), self._headers(token))

            def put(req: Request) -> Reply:
                admin = self._admin(req)
                if isinstance(admin, Reply):
                    return admin
                token, found = admin
                if attribute == "security_updates" and not found.dependabot_alerts:
                    return _msg(422, "Vulnerability alerts are disabled.")
                setattr(found, attribute, True)
                return Reply(204, None, self._headers(token))

            return get, put

        for path, attribute in (
            ("/repos/{owner}/{repo}/vulnerability-alerts", "dependabot_alerts"),
            ("/repos/{owner}/{repo}/automated-security-fixes", "security_updates"),
        ):
            get, put = toggle(attribute)
            self.add_route("GET", path, get)
            self.add_route("PUT", path, put)

        @self.route("GET", "/repos/{owner}/{repo}/environments/{env}")
        def environment(req: Request) -> Reply:
            token = self._token(req)
            if isinstance(token, Reply):
                return token
            found = self._repo(req, token)
            if isinstance(found, Reply):
                return found
            name = unquote(req.params["env"])
            if name not in found.environments:
                return _msg(404, "Not Found", self._headers(token))
            body = {"name": name, "protection_rules": []}
            return Reply(200, self.full(req, 200, body), self._headers(token))

        def public_key(req: Request) -> Reply:
            scoped = self._scoped(req)
            if isinstance(scoped, Reply):
                return scoped
            return Reply(
                200, {"key_id": self.key_id, "key": self.public_key}, self._headers(scoped[0])
            )

        def list_secrets(req: Request) -> Reply:
            scoped = self._scoped(req)
            if isinstance(scoped, Reply):
                return scoped
            token, store = scoped
            per_page = int(req.arg("per_page") or 30)
            page = 1 if self.pages_ignored else int(req.arg("page") or 1)
            names = sorted(store)
            chunk = names[(page - 1) * per_page : page * per_page]
            body = {
                "total_count": len(names) + self.total_count_extra,
                "secrets": [
                    {
                        "name": store[n].name,
                        "created_at": store[n].created_at,
                        "updated_at": store[n].updated_at,
                    }
                    for n in chunk
                ],
            }
            return Reply(200, body, self._headers(token))

        def put_secret(req: Request) -> Reply:
            scoped = self._scoped(req)
            if isinstance(scoped, Reply):
                return scoped
            token, store = scoped
            name = unquote(req.params["name"])
            if not NAME_RE.match(name) or name.upper().startswith("GITHUB_"):
                return _msg(422, "Invalid secret name")
            body = req.json()
            if not isinstance(body, dict) or body.get("key_id") != self.key_id:
                return _msg(422, "Bad request - key_id does not match the current public key")
            try:
                sealed = base64.b64decode(body.get("encrypted_value") or "", validate=True)
                plaintext = SealedBox(self.private_key).decrypt(sealed)
            except (ValueError, CryptoError):
                return _msg(422, "Bad request - encrypted_value is not a valid sealed box")
            if len(plaintext) > 48 * 1024:
                return _msg(422, "Secret value is too large")
            upper = name.upper()
            existing = store.get(upper)
            now = _now()
            store[upper] = Secret(upper, plaintext, existing.created_at if existing else now, now)
            return Reply(204 if existing else 201, None if existing else {}, self._headers(token))

        def list_variables(req: Request) -> Reply:
            token = self._token(req)
            if isinstance(token, Reply):
                return token
            repo = self._repo(req, token)
            if isinstance(repo, Reply):
                return repo
            env = req.params.get("env")
            if token.scopes is None:
                allowed = token.environments_write if env is not None else token.variables_read
                if not allowed:
                    return _msg(403, "Resource not accessible by personal access token")
            if env is None:
                store = repo.variables
            elif unquote(env) in repo.environments:
                store = repo.env_variables.setdefault(unquote(env), {})
            else:
                return _msg(404, "Not Found", self._headers(token))
            per_page = min(int(req.arg("per_page") or 10), 30)
            page = int(req.arg("page") or 1)
            names = sorted(store)[(page - 1) * per_page : page * per_page]
            now = _now()
            body = {
                "total_count": len(store),
                "variables": [
                    {"name": n, "value": store[n], "created_at": now, "updated_at": now}
                    for n in names
                ],
            }
            return Reply(200, self.full(req, 200, body), self._headers(token))

        @self.route("GET", "/repos/{owner}/{repo}/actions/runs")
        def list_runs(req: Request) -> Reply:
            token = self._token(req)
            if isinstance(token, Reply):
                return token
            repo = self._repo(req, token)
            if isinstance(repo, Reply):
                return repo
            if token.scopes is None and not token.actions_read:
                return _msg(403, "Resource not accessible by personal access token")
            runs = list(reversed(repo.runs))  # newest first, as GitHub lists them
            if (branch := req.arg("branch")) is not None:
                runs = [r for r in runs if r["head_branch"] == branch]
            per_page = min(int(req.arg("per_page") or 30), 100)
            page = int(req.arg("page") or 1)
            chunk = runs[(page - 1) * per_page : page * per_page]
            body = {"total_count": len(runs), "workflow_runs": chunk}
            return Reply(200, self.full(req, 200, body), self._headers(token))

        self.add_route("GET", "/repos/{owner}/{repo}/actions/variables", list_variables)
        self.add_route("GET", "/repos/{owner}/{repo}/environments/{env}/variables", list_variables)

        for base in (
            "/repos/{owner}/{repo}/actions/secrets",
            "/repos/{owner}/{repo}/environments/{env}/secrets",
        ):
            self.add_route("GET", base + "/public-key", public_key)
            self.add_route("GET", base, list_secrets)
            self.add_route("PUT", base + "/{name}", put_secret)
