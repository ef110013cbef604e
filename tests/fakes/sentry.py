"""A fake Sentry web API: organizations, projects and their client keys (``/api/0/``).

Errors are ``{"detail": "..."}``; lists paginate with ``Link`` headers carrying
``rel="next"; results="true|false"; cursor="..."``.
"""

from __future__ import annotations

import secrets
from typing import Any

from tests.fakes.base import FakeService, Reply, Request


class FakeSentry(FakeService):
    spec = "sentry"  # tests/api-specs/sentry.json.gz

    def __init__(self, token: str, *, page_size: int = 100) -> None:
        super().__init__()
        self.token = token
        self.page_size = page_size
        self.can_read_keys = True  # False: an org token (org:ci) without project:read
        self.orgs: dict[str, dict[str, Any]] = {}
        self.projects: dict[tuple[str, str], dict[str, Any]] = {}
        self.keys: dict[tuple[str, str], list[dict[str, Any]]] = {}
        self.route("GET", "/api/0/organizations/")(self._orgs)
        self.route("GET", "/api/0/organizations/{org}/")(self._org)
        self.route("GET", "/api/0/projects/{org}/{project}/")(self._project)
        self.route("GET", "/api/0/projects/{org}/{project}/keys/")(self._keys)

    def __enter__(self) -> FakeSentry:  # typed for the subclass's own helpers
        self.start()
        return self

    def add_org(self, slug: str) -> None:
        self.orgs[slug] = {"id": str(len(self.orgs) + 1), "slug": slug, "name": slug.title()}

    def add_project(self, org: str, slug: str) -> str:
        project_id = str(4500000000000000 + len(self.projects))
        self.projects[(org, slug)] = {
            "id": project_id,
            "slug": slug,
            "name": slug,
            "platform": "javascript-nextjs",
        }
        self.keys[(org, slug)] = []
        return project_id

    def add_key(
        self, org: str, project: str, *, name: str = "Default", active: bool = True
    ) -> dict[str, Any]:
        public, secret = secrets.token_hex(16), secrets.token_hex(16)
        project_id = self.projects[(org, project)]["id"]
        host = "o4504765715316736.ingest.sentry.io"
        key = {
            "id": public,
            "name": name,
            "label": name,
            "public": public,
            "secret": secret,
            "projectId": int(project_id),
            "isActive": active,
            "rateLimit": None,
            "dsn": {
                "secret": f"https://{public}:{secret}@{host}/{project_id}",
                "public": f"https://{public}@{host}/{project_id}",
                "csp": f"https://{host}/api/{project_id}/csp-report/?sentry_key={public}",
            },
            "dateCreated": "2024-01-01T00:00:00Z",
        }
        self.keys[(org, project)].append(key)
        return key

    def _auth(self, req: Request) -> Reply | None:
        if req.bearer != self.token:
            return Reply(401, {"detail": "Invalid token"})
        return None

    def _page(self, req: Request, items: list[Any], path: str) -> Reply:
        start = int((req.arg("cursor") or "0:0:0").split(":")[1])
        page = items[start : start + self.page_size]
        more = start + self.page_size < len(items)
        prev = f"0:{max(start - self.page_size, 0)}:1"
        nxt = f"0:{start + self.page_size}:0"
        had, has = ("true" if start else "false"), ("true" if more else "false")
        link = (
            f'<{self.url}{path}?cursor={prev}>; rel="previous"; results="{had}"; cursor="{prev}", '
            f'<{self.url}{path}?cursor={nxt}>; rel="next"; results="{has}"; cursor="{nxt}"'
        )
        return Reply(200, self.full(req, 200, page), {"Link": link})

    def _orgs(self, req: Request) -> Reply:
        if (denied := self._auth(req)) is not None:
            return denied
        return self._page(req, list(self.orgs.values()), req.path)

    def _org(self, req: Request) -> Reply:
        if (denied := self._auth(req)) is not None:
            return denied
        org = self.orgs.get(req.params["org"])
        if org is None:
            return Reply(404, {"detail": "The requested resource does not exist"})
        return Reply(200, self.full(req, 200, org))

    def _project(self, req: Request) -> Reply:
        if (denied := self._auth(req)) is not None:
            return denied
        project = self.projects.get((req.params["org"], req.params["project"]))
        if project is None:
            return Reply(404, {"detail": "The requested resource does not exist"})
        return Reply(200, self.full(req, 200, project))

    def _keys(self, req: Request) -> Reply:
        if (denied := self._auth(req)) is not None:
            return denied
        where = (req.params["org"], req.params["project"])
        if where not in self.projects:
            return Reply(404, {"detail": "The requested resource does not exist"})
        if not self.can_read_keys:
            return Reply(403, {"detail": "You do not have permission to perform this action."})
        keys = self.keys[where]
        status = req.arg("status")
        if status == "active":
            keys = [k for k in keys if k["isActive"]]
        elif status == "inactive":
            keys = [k for k in keys if not k["isActive"]]
        return self._page(req, keys, req.path)
