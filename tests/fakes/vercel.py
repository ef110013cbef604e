"""A fake Vercel REST API on loopback, faithful where the wizard depends on it.

- Invalid tokens answer 403 ``{"error": {"code": "forbidden", "invalidToken": true}}``.
- Team projects are visible only with ``teamId`` (or ``slug``) of their team: 404 without.
- ``POST /v10/projects/{id}/env`` takes one object or an array. Without ``upsert=true`` an
  entry overlapping an existing key+target fails with ENV_CONFLICT; with it, an entry with
  exactly the same targets is updated in place, a partial overlap still conflicts. Array
  bodies answer 201 ``{created, failed}`` even when some items failed.
- ``sensitive`` values are never returned, and cannot target development.
- The list never decrypts ``encrypted`` values (``decrypt=true`` is ignored), the
  ``GET /v1/projects/{id}/env/{envId}`` read does.
"""

from __future__ import annotations

import base64
import itertools
import re
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote

from tests.fakes.base import FakeService, Reply, Request

KEY_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
TYPES = ("plain", "encrypted", "sensitive")
TARGETS = ("production", "preview", "development")
# From vercel.com/docs/environment-variables/reserved-environment-variables.
RESERVED = frozenset(
    {
        "AWS_SECRET_KEY",
        "AWS_EXECUTION_ENV",
        "AWS_LAMBDA_LOG_GROUP_NAME",
        "AWS_LAMBDA_LOG_STREAM_NAME",
        "AWS_LAMBDA_FUNCTION_NAME",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
        "AWS_LAMBDA_FUNCTION_VERSION",
        "NOW_REGION",
        "TZ",
        "LAMBDA_TASK_ROOT",
        "LAMBDA_RUNTIME_DIR",
    }
)


@dataclass
class Env:
    id: str
    key: str
    value: str
    type: str
    target: list[str]
    git_branch: str | None = None
    created_at: int = 0
    updated_at: int = 0


@dataclass
class Deployment:
    id: str
    name: str
    project_id: str
    target: str | None
    created_at: int
    ready_at: float  # wall clock: the build ends then
    fails: bool = False
    canceled: bool = False
    source: str | None = None  # the deployment it rebuilds, or "git"
    settled: bool = False  # promoted to production once READY
    env: dict[str, str] = field(default_factory=dict)  # the values it was built with

    @property
    def state(self) -> str:
        if self.canceled:
            return "CANCELED"
        if time.time() < self.ready_at:
            return "BUILDING"
        return "ERROR" if self.fails else "READY"


@dataclass
class Project:
    id: str
    name: str
    team_id: str | None
    envs: list[Env] = field(default_factory=list)
    # What production serves (promoted when a production build is READY), and the Git link.
    production: str | None = None
    link: dict[str, Any] | None = None

    def entries(self, key: str, target: str | None = None) -> list[Env]:
        return [e for e in self.envs if e.key == key and (target is None or target in e.target)]


def _error(status: int, code: str, message: str, **extra: Any) -> Reply:
    return Reply(status, {"error": {"code": code, "message": message, **extra}})


def _deployment_view(d: Deployment, owner: str) -> dict[str, Any]:
    """The fields Vercel's GET/POST deployment answers carry (required ones included)."""
    state = d.state
    return {
        "id": d.id,
        "name": d.name,
        "url": f"{d.name}-{d.id[4:12].lower()}.vercel.app",
        "createdAt": d.created_at,
        "buildingAt": d.created_at,
        "bootedAt": d.created_at,
        "readyState": state,
        "status": state,
        "target": d.target,
        "projectId": d.project_id,
        "ownerId": owner,
        "type": "LAMBDAS",
        "version": 2,
        "plan": "pro",
        "createdIn": "sfo1",
        "regions": ["iad1"],
        "public": False,
        "meta": {},
        "env": [],
        "build": {"env": []},
        "routes": None,
        "creator": {"uid": owner},
        "inspectorUrl": f"https://vercel.com/inspect/{d.id}",
        "isInConcurrentBuildsQueue": False,
        "isInSystemBuildsQueue": False,
        "aliasAssigned": state == "READY",
        "buildSkipped": False,
        "projectSettings": {},
        **({"errorMessage": 'Command "npm run build" exited with 1'} if state == "ERROR" else {}),
    }


class _DeploymentRoutes:
    """FakeVercel's deployments: create (redeploy or from Git), state, listing, build log,
    promote. A build takes ``build_seconds`` of wall clock, then is READY (or ERROR with
    ``fail_builds``); a READY production build becomes what production serves."""

    lock: Any
    projects: list[Project]
    deployments: list[Deployment]
    build_seconds: float
    fail_builds: bool
    user: dict[str, str]
    _ids: Any

    def _now(self) -> int:
        raise NotImplementedError

    def _auth(self, req: Request) -> Reply | None:
        raise NotImplementedError

    def _project(self, req: Request) -> Project | Reply:
        raise NotImplementedError

    def route(self, method: str, pattern: str) -> Any:
        raise NotImplementedError

    def _settle(self, project: Project) -> None:
        # A production build that is READY is what production serves (auto-assigned alias).
        with self.lock:
            for d in self.deployments:
                if (
                    d.project_id == project.id
                    and d.target == "production"
                    and d.state == "READY"
                    and not d.settled
                ):
                    d.settled = True
                    project.production = d.id

    def _find_deployment(self, ident: str) -> Deployment | None:
        return next((d for d in self.deployments if d.id == ident), None)

    def _deployment_routes(self) -> None:
        @self.route("POST", "/v13/deployments")
        def create(req: Request) -> Reply:
            if (denied := self._auth(req)) is not None:
                return denied
            body = req.json()
            if not isinstance(body, dict) or not body.get("name"):
                return _error(
                    400, "bad_request", "Invalid request: missing required property `name`."
                )
            project = next((p for p in self.projects if p.name == body["name"]), None)
            if project is None or (project.team_id and req.arg("teamId") != project.team_id):
                return _error(404, "not_found", "Project not found")
            source: str | None = None
            if body.get("deploymentId"):
                base = self._find_deployment(str(body["deploymentId"]))
                if base is None or base.project_id != project.id:
                    return _error(404, "not_found", "Deployment not found")
                source = base.id
            elif isinstance(body.get("gitSource"), dict):
                if project.link is None:
                    return _error(400, "missing_git_source", "No Git repository is connected")
                source = "git"
            else:
                return _error(400, "missing_files", "Missing files")
            with self.lock:
                deployment = Deployment(
                    id=f"dpl_{next(self._ids):08d}",
                    name=project.name,
                    project_id=project.id,
                    target=body.get("target") if body.get("target") == "production" else None,
                    created_at=self._now(),
                    ready_at=time.time() + self.build_seconds,
                    fails=self.fail_builds,
                    source=source,
                    env={e.key: e.value for e in project.envs if "production" in e.target},
                )
                self.deployments.append(deployment)
            return Reply(200, _deployment_view(deployment, self.user["id"]))

        @self.route("GET", "/v13/deployments/{id}")
        def get(req: Request) -> Reply:
            if (denied := self._auth(req)) is not None:
                return denied
            found = self._find_deployment(unquote(req.params["id"]))
            if found is None:
                return _error(404, "not_found", "Deployment not found")
            project = next(p for p in self.projects if p.id == found.project_id)
            self._settle(project)
            return Reply(200, _deployment_view(found, self.user["id"]))

        @self.route("GET", "/v6/deployments")
        def listing(req: Request) -> Reply:
            if (denied := self._auth(req)) is not None:
                return denied
            wanted = req.arg("projectId")
            target = req.arg("target")
            state = req.arg("state")
            items = [
                d
                for d in self.deployments
                if (wanted in (None, d.project_id, d.name))
                and (target is None or d.target == target)
                and (state is None or d.state in state.split(","))
            ]
            items.sort(key=lambda d: d.created_at, reverse=True)
            limit = int(req.arg("limit") or 20)
            view = []
            for d in items[:limit]:
                full = _deployment_view(d, self.user["id"])
                view.append(
                    {
                        "uid": d.id,
                        "name": d.name,
                        "projectId": d.project_id,
                        "url": full["url"],
                        "created": d.created_at,
                        "createdAt": d.created_at,
                        "state": d.state,
                        "readyState": d.state,
                        "type": "LAMBDAS",
                        "target": d.target,
                        "creator": {"uid": self.user["id"]},
                        "inspectorUrl": full["inspectorUrl"],
                    }
                )
            return Reply(
                200,
                {
                    "deployments": view,
                    "pagination": {"count": len(view), "next": None, "prev": None},
                },
            )

        @self.route("GET", "/v3/deployments/{id}/events")
        def events(req: Request) -> Reply:
            if (denied := self._auth(req)) is not None:
                return denied
            found = self._find_deployment(unquote(req.params["id"]))
            if found is None:
                return _error(404, "not_found", "Deployment not found")
            lines = [
                "Cloning github.com/acme/dream-pixel (Branch: main)",
                'Running "npm run build"',
            ]
            lines += [f"build line {i}" for i in range(40)]
            # A build that prints its environment, as a misconfigured script does.
            lines += [f"env {k}={v}" for k, v in sorted(found.env.items())]
            if found.state == "ERROR":
                lines += [
                    "Error: Cannot find module 'next'",
                    'Command "npm run build" exited with 1',
                ]
            out = []
            for serial, text in enumerate(lines):
                out.append(
                    {
                        "type": "stderr" if "Error" in text else "stdout",
                        "created": found.created_at + serial,
                        "payload": {
                            "deploymentId": found.id,
                            "id": f"evt_{serial}",
                            "date": found.created_at + serial,
                            "serial": f"{serial:06d}",
                            "text": text,
                        },
                    }
                )
            if req.arg("direction") == "backward":
                out.reverse()
            limit = int(req.arg("limit") or 100)
            return Reply(200, out[:limit] if limit > 0 else out)

        @self.route("POST", "/v10/projects/{project}/promote/{deployment}")
        def promote(req: Request) -> Reply:
            project = self._project(req)
            if isinstance(project, Reply):
                return project
            found = self._find_deployment(unquote(req.params["deployment"]))
            if found is None or found.project_id != project.id:
                return _error(404, "not_found", "Deployment not found")
            if found.state != "READY":
                return _error(400, "deployment_not_ready", "The deployment is not READY")
            with self.lock:
                project.production = found.id
            return Reply(201, None)


class FakeVercel(FakeService, _DeploymentRoutes):
    spec = "vercel"  # tests/api-specs/vercel.json.gz

    def __init__(self, token: str = "vercel-test-token", *, user_id: str = "usr_fake") -> None:
        super().__init__()
        self.tokens = {token}
        self.user = {"id": user_id, "username": "dreamer", "email": "dev@example.test"}
        self.teams: set[str] = set()
        self.projects: list[Project] = []
        self._ids = itertools.count(1)
        self._clock = itertools.count(1)
        # Faults of the batch upsert: "empty" answers 201 {}, "partial" lists only the first
        # half of what it created; keys in `dropped` are answered 201 but never stored.
        self.upsert_answer = "full"
        self.dropped: set[str] = set()
        self.deployments: list[Deployment] = []
        # Domains: name -> project id; which are verified / point at Vercel; what Vercel
        # recommends for them.
        self.domains: dict[str, str] = {}
        self.domain_redirects: dict[str, str | None] = {}
        self.unverified: set[str] = set()
        self.configured: set[str] = set()
        self.recommended_ipv4 = "76.76.21.21"
        self.recommended_cname = "d1d4fc829fe7bc7c.vercel-dns-017.com"
        self.build_seconds = 0.5  # how long a build takes
        self.fail_builds = False  # the next builds end in ERROR
        self._routes_setup()
        self._deployment_routes()
        self._domain_routes()

    def __enter__(self) -> FakeVercel:
        self.start()
        return self

    # -- test helpers ------------------------------------------------------------
    def add_project(self, name: str, *, team_id: str | None = None) -> Project:
        with self.lock:
            if team_id:
                self.teams.add(team_id)
            project = Project(id=f"prj_{name}_{next(self._ids)}", name=name, team_id=team_id)
            self.projects.append(project)
            return project

    def add_env(
        self,
        project: Project,
        key: str,
        value: str,
        *,
        type: str = "encrypted",
        target: list[str] | tuple[str, ...] = ("production",),
        git_branch: str | None = None,
    ) -> Env:
        with self.lock:
            env = self._new_env(key, value, type, list(target), git_branch)
            project.envs.append(env)
            return env

    def add_deployment(
        self, project: Project, *, production: bool = True, age_ms: int = 0
    ) -> Deployment:
        """A READY deployment made before the test, serving production when asked."""
        with self.lock:
            deployment = Deployment(
                id=f"dpl_{next(self._ids):08d}",
                name=project.name,
                project_id=project.id,
                target="production" if production else None,
                created_at=self._now() - age_ms * 1000,
                ready_at=0.0,
                env={e.key: e.value for e in project.envs if "production" in e.target},
            )
            self.deployments.append(deployment)
            if production:
                project.production = deployment.id
            return deployment

    def production_of(self, project: Project) -> Deployment | None:
        return next((d for d in self.deployments if d.id == project.production), None)

    def _domain_view(self, name: str, project_id: str) -> dict[str, Any]:
        labels = name.split(".")
        view: dict[str, Any] = {
            "name": name,
            "apexName": ".".join(labels[-2:]),
            "projectId": project_id,
            "verified": name not in self.unverified,
        }
        if self.domain_redirects.get(name):
            view |= {"redirect": self.domain_redirects[name], "redirectStatusCode": 308}
        if name in self.unverified:
            view["verification"] = [
                {
                    "type": "TXT",
                    "domain": f"_vercel.{view['apexName']}",
                    "value": f"vc-domain-verify={name},{project_id[-6:]}",
                    "reason": "pending_domain_verification",
                }
            ]
        return view

    def _domain_routes(self) -> None:
        @self.route("GET", "/v9/projects/{project}/domains/{domain}")
        def get_domain(req: Request) -> Reply:
            project = self._project(req)
            if isinstance(project, Reply):
                return project
            name = unquote(req.params["domain"])
            if self.domains.get(name) != project.id:
                return _error(404, "not_found", f"Domain {name} not found on the project")
            return Reply(200, self._domain_view(name, project.id))

        @self.route("POST", "/v10/projects/{project}/domains")
        def add_domain(req: Request) -> Reply:
            project = self._project(req)
            if isinstance(project, Reply):
                return project
            body = req.json()
            name = str(body.get("name") or "") if isinstance(body, dict) else ""
            if not name:
                return _error(400, "bad_request", "Missing name")
            holder = self.domains.get(name)
            if holder is not None and holder != project.id:
                return _error(
                    409,
                    "domain_already_in_use",
                    f"Cannot add {name} since it's already in use by your account.",
                )
            with self.lock:
                self.domains[name] = project.id
                self.domain_redirects[name] = body.get("redirect")
            return Reply(200, self._domain_view(name, project.id))

        @self.route("POST", "/v9/projects/{project}/domains/{domain}/verify")
        def verify(req: Request) -> Reply:
            project = self._project(req)
            if isinstance(project, Reply):
                return project
            name = unquote(req.params["domain"])
            if self.domains.get(name) != project.id:
                return _error(404, "not_found", "Domain not found")
            return Reply(200, self._domain_view(name, project.id))

        @self.route("GET", "/v6/domains/{domain}/config")
        def config(req: Request) -> Reply:
            if (denied := self._auth(req)) is not None:
                return denied
            name = unquote(req.params["domain"])
            return Reply(
                200,
                {
                    # Vercel answers null when nothing points at it; its document's enum
                    # lacks null, so the stand-in says "dns-01" (not resolving to Vercel).
                    "configuredBy": "A" if name in self.configured else "dns-01",
                    "acceptedChallenges": ["http-01"],
                    "misconfigured": name not in self.configured,
                    "recommendedIPv4": [{"rank": 1, "value": [self.recommended_ipv4]}],
                    "recommendedCNAME": [{"rank": 1, "value": self.recommended_cname + "."}],
                },
            )

    def writes(self) -> list[Request]:
        return [r for r in self.requests() if r.method in ("POST", "PATCH", "PUT", "DELETE")]

    # -- internals ---------------------------------------------------------------
    def _now(self) -> int:
        # Strictly increasing, so every edit gets a new updatedAt.
        return int(time.time() * 1000) * 1000 + next(self._clock)

    def _new_env(
        self, key: str, value: str, type: str, target: list[str], git_branch: str | None
    ) -> Env:
        now = self._now()
        return Env(
            id=f"env_{next(self._ids):06d}",
            key=key,
            value=value,
            type=type,
            target=target,
            git_branch=git_branch,
            created_at=now,
            updated_at=now,
        )

    @staticmethod
    def _view(env: Env, *, decrypt: bool = False) -> dict[str, Any]:
        if env.type == "sensitive":
            value, decrypted = "", False
        elif env.type == "plain":
            value, decrypted = env.value, False
        elif decrypt:
            value, decrypted = env.value, True
        else:
            # What the list shows for encrypted values: ciphertext, not the value.
            value = base64.b64encode(b"enc:" + env.id.encode()).decode()
            decrypted = False
        out: dict[str, Any] = {
            "id": env.id,
            "key": env.key,
            "value": value,
            "type": env.type,
            "target": list(env.target),
            "configurationId": None,
            "createdAt": env.created_at,
            "updatedAt": env.updated_at,
            "decrypted": decrypted,
        }
        if env.git_branch:
            out["gitBranch"] = env.git_branch
        return out

    def _auth(self, req: Request) -> Reply | None:
        if req.bearer not in self.tokens:
            return _error(403, "forbidden", "Not authorized", invalidToken=True)
        return None

    def _project(self, req: Request) -> Project | Reply:
        denied = self._auth(req)
        if denied:
            return denied
        team = req.arg("teamId") or req.arg("slug")
        if team is not None and team not in self.teams:
            return _error(403, "forbidden", "Not authorized")
        ref = unquote(req.params["project"])
        for project in self.projects:
            if project.team_id == team and ref in (project.id, project.name):
                return project
        return _error(404, "not_found", "Project not found")

    def _validate(self, item: Any) -> tuple[dict[str, Any], None] | tuple[None, dict[str, Any]]:
        if not isinstance(item, dict):
            return None, {"code": "bad_request", "message": "Invalid request body"}
        key, value, type_ = item.get("key"), item.get("value"), item.get("type")
        target = item.get("target")
        if isinstance(target, str):
            target = [target]
        if not isinstance(key, str) or not KEY_RE.match(key):
            return None, {"code": "invalid_key", "message": "Invalid key", "key": key}
        if key in RESERVED:
            return None, {
                "code": "reserved_env_key",
                "message": f"The name {key} is reserved",
                "key": key,
            }
        if not isinstance(value, str):
            return None, {"code": "invalid_value", "message": "Value must be a string", "key": key}
        if type_ not in TYPES:
            return None, {"code": "invalid_type", "message": "Invalid type", "key": key}
        if (
            not isinstance(target, list)
            or not target
            or any(t not in TARGETS for t in target)
            or len(set(target)) != len(target)
        ):
            return None, {"code": "invalid_target", "message": "Invalid target", "key": key}
        if type_ == "sensitive" and "development" in target:
            return None, {
                "code": "invalid_sensitive_target",
                "message": "Sensitive Environment Variables cannot target development",
                "key": key,
            }
        branch = item.get("gitBranch") or None
        return {
            "key": key,
            "value": value,
            "type": type_,
            "target": target,
            "git_branch": branch,
        }, None

    @staticmethod
    def _conflict(existing: Env, key: str, target: list[str], branch: str | None) -> dict[str, Any]:
        shared = [t for t in target if t in existing.target]
        return {
            "code": "ENV_CONFLICT",
            "message": (
                f"A variable with the name `{key}` already exists for the target "
                f"{shared[0] if shared else target[0]} on branch {branch or 'undefined'}"
            ),
            "key": key,
            "envVarId": existing.id,
            "envVarKey": key,
            "target": list(existing.target),
            "gitBranch": branch,
        }

    def _create_one(
        self, project: Project, item: dict[str, Any], upsert: bool
    ) -> tuple[Env, None] | tuple[None, dict[str, Any]]:
        key, target, branch = item["key"], item["target"], item["git_branch"]
        overlapping = [
            e
            for e in project.envs
            if e.key == key and e.git_branch == branch and set(e.target) & set(target)
        ]
        if overlapping:
            exact = [e for e in overlapping if set(e.target) == set(target)]
            if upsert and len(overlapping) == 1 and exact:
                env = exact[0]
                env.value, env.type = item["value"], item["type"]
                env.updated_at = self._now()
                return env, None
            return None, self._conflict(overlapping[0], key, target, branch)
        env = self._new_env(key, item["value"], item["type"], list(target), branch)
        project.envs.append(env)
        return env, None

    # -- routes ------------------------------------------------------------------
    def _routes_setup(self) -> None:
        @self.route("GET", "/v2/user")
        def user(req: Request) -> Reply:
            return self._auth(req) or Reply(200, self.full(req, 200, {"user": dict(self.user)}))

        @self.route("GET", "/v9/projects/{project}")
        def project(req: Request) -> Reply:
            found = self._project(req)
            if isinstance(found, Reply):
                return found
            body: dict[str, Any] = {
                "id": found.id,
                "name": found.name,
                "accountId": found.team_id or self.user["id"],
            }
            self._settle(found)
            current = self.production_of(found)
            if current is not None:
                view = _deployment_view(current, self.user["id"])
                body["targets"] = {
                    "production": {
                        "id": current.id,
                        "createdAt": current.created_at,
                        "createdIn": view["createdIn"],
                        "creator": {
                            "uid": self.user["id"],
                            "username": self.user["username"],
                            "email": self.user["email"],
                        },
                        "deploymentHostname": view["url"],
                        "name": current.name,
                        "plan": view["plan"],
                        "private": False,
                        "readyState": current.state,
                        "target": "production",
                        "type": "LAMBDAS",
                        "url": view["url"],
                        "userId": self.user["id"],
                    }
                }
            if found.link is not None:
                body["link"] = dict(found.link)
            return Reply(200, self.full(req, 200, body))

        @self.route("GET", "/v10/projects/{project}/env")
        def list_env(req: Request) -> Reply:
            found = self._project(req)
            if isinstance(found, Reply):
                return found
            return Reply(200, self.full(req, 200, {"envs": [self._view(e) for e in found.envs]}))

        @self.route("GET", "/v1/projects/{project}/env/{env}")
        def read_env(req: Request) -> Reply:
            found = self._project(req)
            if isinstance(found, Reply):
                return found
            for env in found.envs:
                if env.id == req.params["env"]:
                    return Reply(200, self.full(req, 200, self._view(env, decrypt=True)))
            return _error(404, "not_found", "Environment Variable not found")

        @self.route("POST", "/v10/projects/{project}/env")
        def create_env(req: Request) -> Reply:
            found = self._project(req)
            if isinstance(found, Reply):
                return found
            try:
                body = req.json()
            except ValueError:
                return _error(400, "bad_request", "Invalid JSON")
            upsert = req.arg("upsert") == "true"
            items = body if isinstance(body, list) else [body]
            created: list[Env] = []
            failed: list[dict[str, Any]] = []
            for raw in items:
                if isinstance(raw, dict) and raw.get("key") in self.dropped:
                    continue
                item, err = self._validate(raw)
                if item is not None:
                    env, err = self._create_one(found, item, upsert)
                    if env is not None:
                        created.append(env)
                        continue
                failed.append({"error": err})
            if not isinstance(body, list):
                if failed:
                    return Reply(400, failed[0])
                body = {"created": self._view(created[0]), "failed": []}
            elif self.upsert_answer == "empty":
                # What Vercel was seen answering (issue 12), though its description requires
                # created and failed.
                return Reply(201, {}, off_spec="Vercel's empty upsert answer")
            else:
                if self.upsert_answer == "partial":
                    created = created[: len(created) // 2]
                body = {"created": [self._view(e) for e in created], "failed": failed}
            return Reply(201, self.full(req, 201, body))

        @self.route("PATCH", "/v9/projects/{project}/env/{env}")
        def edit_env(req: Request) -> Reply:
            found = self._project(req)
            if isinstance(found, Reply):
                return found
            env = next((e for e in found.envs if e.id == req.params["env"]), None)
            if env is None:
                return _error(404, "not_found", "Environment Variable not found")
            body = req.json() or {}
            target = body.get("target", env.target)
            if not isinstance(target, list) or not target or any(t not in TARGETS for t in target):
                return _error(400, "invalid_target", "Invalid target")
            type_ = body.get("type", env.type)
            if type_ == "sensitive" and "development" in target:
                return _error(
                    400, "invalid_sensitive_target", "Sensitive cannot target development"
                )
            for other in found.envs:
                if (
                    other is not env
                    and other.key == env.key
                    and other.git_branch == env.git_branch
                    and set(other.target) & set(target)
                ):
                    return Reply(
                        400, {"error": self._conflict(other, env.key, target, env.git_branch)}
                    )
            env.target = list(target)
            env.type = type_
            if "value" in body:
                env.value = body["value"]
            env.updated_at = self._now()
            return Reply(200, self.full(req, 200, self._view(env)))
