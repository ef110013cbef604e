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
class Project:
    id: str
    name: str
    team_id: str | None
    envs: list[Env] = field(default_factory=list)

    def entries(self, key: str, target: str | None = None) -> list[Env]:
        return [e for e in self.envs if e.key == key and (target is None or target in e.target)]


def _error(status: int, code: str, message: str, **extra: Any) -> Reply:
    return Reply(status, {"error": {"code": code, "message": message, **extra}})


class FakeVercel(FakeService):
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
        self._routes_setup()

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
            body = {
                "id": found.id,
                "name": found.name,
                "accountId": found.team_id or self.user["id"],
            }
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
