"""A fake Supabase Management API: ``GET /v1/projects``, the pooler configuration and the
backups.

Shapes follow the Management API: projects carry ``id`` (the ref), ``ref``, ``name``,
``region``, ``status``; ``GET /v1/projects/{ref}/config/database/pooler`` answers a list
of Supavisor configs whose connection string holds a password placeholder;
``GET /v1/projects/{ref}/database/backups`` the backups a project's plan lets its members
restore (none on the Free plan), and whether PITR and WAL-G are on.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from tests.fakes.base import FakeService, Reply, Request


@dataclass
class FakeProject:
    ref: str
    name: str
    region: str = "us-east-1"
    # Where the fake says the pooler is (tests point it at a local PostgreSQL).
    db_host: str = "aws-0-us-east-1.pooler.supabase.com"
    db_port: int = 6543
    db_user: str = ""
    pool_mode: str = "transaction"
    # Backups: each {"status": ..., "inserted_at": ...} (ids and kinds are filled in).
    backups: list[dict[str, Any]] = field(default_factory=list)
    pitr_enabled: bool = False
    walg_enabled: bool = True
    latest_physical: int | None = None  # unix seconds of the newest physical backup
    backups_readable: bool = True  # False: the token's member lacks backups_read (403)


class FakeSupabase(FakeService):
    spec = "supabase"  # tests/api-specs/supabase.json.gz

    def __init__(self, token: str, projects: list[FakeProject]) -> None:
        super().__init__()
        self.token = token
        self.projects = {p.ref: p for p in projects}
        self.route("GET", "/v1/projects")(self._projects)
        self.route("GET", "/v1/projects/{ref}/config/database/pooler")(self._pooler)
        self.route("GET", "/v1/projects/{ref}/database/backups")(self._backups)

    def _auth(self, req: Request) -> Reply | None:
        if req.bearer != self.token:
            return Reply(401, {"message": "Unauthorized"})
        return None

    def _projects(self, req: Request) -> Reply:
        if (denied := self._auth(req)) is not None:
            return denied
        reply = Reply(
            200,
            [
                {
                    "id": p.ref,
                    "ref": p.ref,
                    "organization_id": "org-fake",
                    "name": p.name,
                    "region": p.region,
                    "created_at": "2026-01-01T00:00:00Z",
                    "status": "ACTIVE_HEALTHY",
                }
                for p in self.projects.values()
            ],
        )
        return self.fill(req, reply)

    def _pooler(self, req: Request) -> Reply:
        if (denied := self._auth(req)) is not None:
            return denied
        project = self.projects.get(req.params["ref"])
        if project is None:
            return Reply(404, {"message": "Project not found"})
        user = project.db_user or f"postgres.{project.ref}"
        reply = Reply(
            200,
            [
                {
                    "identifier": project.ref,
                    "database_type": "PRIMARY",
                    "is_using_scram_auth": True,
                    "db_user": user,
                    "db_host": project.db_host,
                    "db_port": project.db_port,
                    "db_name": "postgres",
                    "connection_string": (
                        f"postgresql://{user}:[YOUR-PASSWORD]@{project.db_host}:"
                        f"{project.db_port}/postgres"
                    ),
                    "default_pool_size": 15,
                    "max_client_conn": 200,
                    "pool_mode": project.pool_mode,
                }
            ],
        )
        return self.fill(req, reply)

    def _backups(self, req: Request) -> Reply:
        if (denied := self._auth(req)) is not None:
            return denied
        project = self.projects.get(req.params["ref"])
        if project is None:
            return Reply(404, {"message": "Project not found"})
        if not project.backups_readable:
            return Reply(403, {"message": "You do not have permission to perform this action"})
        backups = [
            {"id": 1000 + i, "is_physical_backup": True, **b} for i, b in enumerate(project.backups)
        ]
        body: dict[str, Any] = {
            "region": project.region,
            "pitr_enabled": project.pitr_enabled,
            "walg_enabled": project.walg_enabled,
            "backups": backups,
            "physical_backup_data": (
                {"latest_physical_backup_date_unix": project.latest_physical}
                if project.latest_physical is not None
                else {}
            ),
        }
        return self.fill(req, Reply(200, body))
