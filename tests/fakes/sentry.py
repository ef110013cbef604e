"""A fake Sentry web API: organizations, projects and their client keys (``/api/0/``),
teams, a project's issues (``query`` is:unresolved/is:resolved/is:ignored, ``limit`` up to
100), and alerting: Monitors (``detectors``) and Alerts (``workflows``), and the legacy issue
alert rules and metric alerts (``new_api = False`` makes the new API 404, as on a self-hosted
Sentry that predates it). Bodies are read camelCase or snake_case, as Sentry's
CamelSnakeSerializers do; a project comes with its error monitor, as on sentry.io.

Errors are ``{"detail": "..."}``; lists paginate with ``Link`` headers carrying
``rel="next"; results="true|false"; cursor="..."``.
"""

from __future__ import annotations

import itertools
import re
import secrets
from functools import partial
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
        self.route("GET", "/api/0/projects/{org}/{project}/issues/")(self._issues)
        self.issues: dict[tuple[str, str], list[dict[str, Any]]] = {}
        self.can_read_issues = True  # False: a token without event:read
        self.new_api = True  # False: a self-hosted Sentry without detectors/workflows
        self.can_write_alerts = True  # False: a token without alerts:write
        self.teams: dict[str, list[dict[str, Any]]] = {}
        self.project_teams: dict[tuple[str, str], list[str]] = {}
        self.detectors: dict[str, dict[str, Any]] = {}
        self.workflows: dict[str, dict[str, Any]] = {}
        self.rules: dict[tuple[str, str], list[dict[str, Any]]] = {}
        self.metric_alerts: dict[str, list[dict[str, Any]]] = {}
        self._ids = itertools.count(4_872_301)
        o = "/api/0/organizations/{org}"
        self.route("GET", o + "/teams/")(partial(_teams, self))
        self.route("GET", "/api/0/projects/{org}/{project}/teams/")(partial(_project_teams, self))
        self.route("GET", o + "/detectors/")(partial(_list_detectors, self))
        self.route("POST", o + "/projects/{project}/detectors/")(partial(_create_detector, self))
        self.route("PUT", o + "/detectors/{id}/")(partial(_update_detector, self))
        self.route("GET", o + "/workflows/")(partial(_list_workflows, self))
        self.route("POST", o + "/workflows/")(partial(_create_workflow, self))
        self.route("PUT", o + "/workflows/{id}/")(partial(_update_workflow, self))
        self.route("GET", "/api/0/projects/{org}/{project}/rules/")(partial(_list_rules, self))
        self.route("POST", "/api/0/projects/{org}/{project}/rules/")(partial(_create_rule, self))
        self.route("PUT", "/api/0/projects/{org}/{project}/rules/{id}/")(
            partial(_update_rule, self)
        )
        self.route("GET", o + "/alert-rules/")(partial(_list_metric, self))
        self.route("POST", o + "/alert-rules/")(partial(_create_metric, self))
        self.route("PUT", o + "/alert-rules/{id}/")(partial(_update_metric, self))

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
        self.rules[(org, slug)] = []
        self.project_teams[(org, slug)] = []
        # sentry.io gives every project its error monitor; issue alerts connect to it.
        did = self._id()
        self.detectors[did] = {
            "id": did,
            "name": "Error Monitor",
            "type": "error",
            "projectId": project_id,
            "enabled": True,
            "config": {},
            "conditionGroup": None,
            "dataSources": None,
            "workflowIds": [],
            "owner": None,
            "createdBy": None,
            "dateCreated": NOW,
            "dateUpdated": NOW,
        }
        return project_id

    def add_team(self, org: str, slug: str, *, project: str | None = None) -> str:
        tid = self._id()
        self.teams.setdefault(org, []).append({"id": tid, "slug": slug, "name": slug.title()})
        if project is not None:
            self.project_teams[(org, project)].append(tid)
        return tid

    def add_issues(self, org: str, project: str, count: int, *, status: str = "unresolved") -> None:
        """``count`` issues of the project with ``status`` (unresolved, resolved, ignored)."""
        found = self.projects[(org, project)]
        for _ in range(count):
            iid = self._id()
            self.issues.setdefault((org, project), []).append(
                {
                    "id": iid,
                    "shortId": f"{project.upper()}-{iid}",
                    "title": "TypeError: undefined is not a function",
                    "status": status,
                    "project": {"id": found["id"], "name": found["name"], "slug": project},
                    "permalink": f"https://{org}.sentry.io/issues/{iid}/",
                }
            )

    def _id(self) -> str:
        return str(next(self._ids))

    def project_detectors(self, org: str, project: str) -> list[dict[str, Any]]:
        pid = self.projects[(org, project)]["id"]
        return [d for d in self.detectors.values() if d["projectId"] == pid]

    def project_workflows(self, org: str, project: str) -> list[dict[str, Any]]:
        mine = {d["id"] for d in self.project_detectors(org, project)}
        return [w for w in self.workflows.values() if mine & set(w["detectorIds"])]

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

    def _issues(self, req: Request) -> Reply:
        if (denied := self._auth(req)) is not None:
            return denied
        where = (req.params["org"], req.params["project"])
        if where not in self.projects:
            return Reply(404, {"detail": "The requested resource does not exist"})
        if not self.can_read_issues:
            return Reply(403, {"detail": "You do not have permission to perform this action."})
        if req.arg("statsPeriod") not in (None, "", "24h", "14d"):
            return Reply(
                400, {"detail": "Invalid stats_period. Valid choices are '', '24h', and '14d'"}
            )
        # No query means "is:unresolved", as Sentry documents; only is:<status> is modelled.
        query = req.arg("query") or "is:unresolved"
        wanted = query.removeprefix("is:") if query.startswith("is:") else None
        if wanted not in ("unresolved", "resolved", "ignored"):
            return Reply(400, {"detail": f"the stand-in does not model the query {query!r}"})
        found = [i for i in self.issues.get(where, []) if i["status"] == wanted]
        limit = min(int(req.arg("limit") or 100), 100)
        start = int((req.arg("cursor") or "0:0:0").split(":")[1])
        page = found[start : start + limit]
        nxt = f"0:{start + limit}:0"
        more = "true" if start + limit < len(found) else "false"
        link = f'<{self.url}{req.path}?cursor={nxt}>; rel="next"; results="{more}"; cursor="{nxt}"'
        return Reply(200, self.full(req, 200, page), {"Link": link})

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


NOW = "2026-11-30T03:00:00.000000Z"
_SNAKE = re.compile(r"_([a-z])")


def camel(value: Any) -> Any:
    """Keys in camelCase, as Sentry reads either form of a CamelSnake body."""
    if isinstance(value, dict):
        return {_SNAKE.sub(lambda m: m.group(1).upper(), k): camel(v) for k, v in value.items()}
    if isinstance(value, list):
        return [camel(v) for v in value]
    return value


def _missing() -> Reply:
    return Reply(404, {"detail": "The requested resource does not exist"})


def _gate(
    self: FakeSentry, req: Request, *, new: bool = False, write: bool = False
) -> Reply | None:
    if (denied := self._auth(req)) is not None:
        return denied
    if req.params["org"] not in self.orgs:
        return _missing()
    if new and not self.new_api:
        return _missing()
    if write and not self.can_write_alerts:
        return Reply(403, {"detail": "You do not have permission to perform this action."})
    return None


def _teams(self: FakeSentry, req: Request) -> Reply:
    if (denied := _gate(self, req)) is not None:
        return denied
    return self._page(req, self.teams.get(req.params["org"], []), req.path)


def _project_teams(self: FakeSentry, req: Request) -> Reply:
    if (denied := _gate(self, req)) is not None:
        return denied
    where = (req.params["org"], req.params["project"])
    if where not in self.projects:
        return _missing()
    ids = self.project_teams[where]
    teams = [t for t in self.teams.get(where[0], []) if t["id"] in ids]
    return self._page(req, teams, req.path)


def _detector_answer(self: FakeSentry, d: dict[str, Any], body: dict[str, Any]) -> None:
    group = body.get("conditionGroup")
    if group is not None:
        conditions = [{**c, "id": self._id()} for c in group.get("conditions") or []]
        d["conditionGroup"] = {
            "id": self._id(),
            "logicType": group.get("logicType", "any"),
            "conditions": conditions,
            "organizationId": "1",
        }
    if "dataSources" in body:
        sources = []
        for src in body["dataSources"] or []:
            query = {
                "id": self._id(),
                "aggregate": src.get("aggregate", "count()"),
                "dataset": src.get("dataset", "events"),
                "environment": src.get("environment"),
                "eventTypes": src.get("eventTypes", ["error", "default"]),
                "query": src.get("query", ""),
                "timeWindow": src.get("timeWindow", 3600),
                "extrapolationMode": "unknown",
            }
            sources.append(
                {
                    "id": self._id(),
                    "organizationId": "1",
                    "sourceId": self._id(),
                    "type": "snuba_query_subscription",
                    "queryObj": {
                        "id": self._id(),
                        "snubaQuery": query,
                        "status": 1,
                        "subscription": None,
                    },
                }
            )
        d["dataSources"] = sources
    for key in ("name", "type", "enabled", "config"):
        if key in body:
            d[key] = body[key]
    d["dateUpdated"] = NOW


# What sentry.io refuses in a metric monitor, in its own words (getsentry/sentry
# src/sentry/incidents/metric_issue_detector.py and src/sentry/snuba/snuba_query_validator.py):
# performance data comes from spans only (the transactions datasets are being retired), event
# types must fit the query type, one event type on events_analytics_platform, at most three
# conditions and one of them resolving the issue.
_TRANSACTION_DATASETS = {"transactions", "generic_metrics"}
_QUERY_DATASETS = {
    0: {"events"},
    1: {"transactions", "generic_metrics", "events_analytics_platform"},
    2: {"metrics"},
}
_QUERY_EVENT_TYPES = {
    0: {"error", "default"},
    1: {"transaction", "trace_item_log", "trace_item_span"},
}
_DATASET_QUERY_TYPE = {"events": 0, "metrics": 2}
_CONDITION_TYPES = {"gt", "lt", "gte", "lte", "anomaly_detection"}
_CONDITION_RESULTS = {75, 50, 0}


def _refused(message: str) -> Reply:
    return Reply(400, [message])


def _check_detector(body: dict[str, Any], *, creating: bool) -> Reply | None:
    for src in body.get("dataSources") or []:
        dataset = src.get("dataset", "events")
        if dataset in _TRANSACTION_DATASETS:
            verb = "Creation of" if creating else "Updates to"
            return _refused(
                f"{verb} transaction-based alerts is disabled, as we migrate to the span "
                "dataset. Create span-based alerts (dataset: events_analytics_platform) with "
                "the is_transaction:true filter instead."
            )
        query_type = src.get("queryType", _DATASET_QUERY_TYPE.get(dataset, 1))
        if dataset not in _QUERY_DATASETS.get(query_type, set()):
            valid = sorted(_QUERY_DATASETS.get(query_type, set()))
            return Reply(
                400,
                {
                    "dataSources": [
                        f"Invalid dataset for this query type. Valid datasets are {valid}"
                    ]
                },
            )
        event_types = src.get("eventTypes") or []
        valid_types = _QUERY_EVENT_TYPES.get(query_type, set())
        if set(event_types) - valid_types:
            return Reply(
                400,
                {
                    "dataSources": [
                        "Invalid event types for this dataset. Valid event types are "
                        f"{sorted(valid_types)}"
                    ]
                },
            )
        if dataset == "events_analytics_platform" and len(event_types) > 1:
            return Reply(
                400,
                {
                    "dataSources": [
                        "Multiple event types not allowed. Valid event types are "
                        f"{sorted(valid_types)}"
                    ]
                },
            )
    group = body.get("conditionGroup")
    if group is not None and body.get("type", "metric_issue") == "metric_issue":
        conditions = group.get("conditions") or []
        if len(conditions) > 3:
            return Reply(400, {"nonFieldErrors": ["Too many conditions"]})
        for c in conditions:
            if c.get("type") not in _CONDITION_TYPES:
                return Reply(400, {"conditionGroup": [f"Unsupported type {c.get('type')}"]})
            if c.get("conditionResult") not in _CONDITION_RESULTS:
                return Reply(400, {"conditionGroup": ["Unsupported condition result"]})
        resolves = any(c.get("conditionResult") == 0 for c in conditions)
        dynamic = any(c.get("type") == "anomaly_detection" for c in conditions)
        if not resolves and not dynamic:
            return Reply(
                400,
                {"conditionGroup": ["Resolution condition required for metric issue detector."]},
            )
    return None


def _list_detectors(self: FakeSentry, req: Request) -> Reply:
    if (denied := _gate(self, req, new=True)) is not None:
        return denied
    wanted = set(req.query.get("project") or [])
    found = [d for d in self.detectors.values() if not wanted or d["projectId"] in wanted]
    return self._page(req, found, req.path)


def _create_detector(self: FakeSentry, req: Request) -> Reply:
    if (denied := _gate(self, req, new=True, write=True)) is not None:
        return denied
    project = self.projects.get((req.params["org"], req.params["project"]))
    if project is None:
        return _missing()
    body = camel(req.json())
    if (refused := _check_detector(body, creating=True)) is not None:
        return refused
    did = self._id()
    d: dict[str, Any] = {
        "id": did,
        "projectId": project["id"],
        "enabled": True,
        "config": {},
        "conditionGroup": None,
        "dataSources": None,
        "workflowIds": [],
        "owner": None,
        "createdBy": "2345",
        "dateCreated": NOW,
        "dateUpdated": NOW,
    }
    _detector_answer(self, d, body)
    self.detectors[did] = d
    return Reply(201, self.full(req, 201, d))


def _update_detector(self: FakeSentry, req: Request) -> Reply:
    if (denied := _gate(self, req, new=True, write=True)) is not None:
        return denied
    d = self.detectors.get(req.params["id"])
    if d is None:
        return _missing()
    body = camel(req.json())
    if (refused := _check_detector(body, creating=False)) is not None:
        return refused
    _detector_answer(self, d, body)
    return Reply(200, self.full(req, 200, d))


def _workflow_answer(self: FakeSentry, w: dict[str, Any], body: dict[str, Any]) -> None:
    for key in ("name", "enabled", "environment", "config"):
        if key in body:
            w[key] = body[key]
    if "detectorIds" in body:
        w["detectorIds"] = [str(i) for i in body["detectorIds"]]
    if "triggers" in body:
        t = body["triggers"] or {}
        w["triggers"] = {
            "id": self._id(),
            "logicType": t.get("logicType", "any-short"),
            "organizationId": "1",
            "conditions": [{**c, "id": self._id()} for c in t.get("conditions") or []],
        }
    if "actionFilters" in body:
        w["actionFilters"] = [
            {
                "id": self._id(),
                "logicType": f.get("logicType", "any-short"),
                "organizationId": "1",
                "conditions": [{**c, "id": self._id()} for c in f.get("conditions") or []],
                "actions": [
                    {**a, "id": self._id(), "status": "active"} for a in f.get("actions") or []
                ],
            }
            for f in body["actionFilters"] or []
        ]
    w["dateUpdated"] = NOW


def _list_workflows(self: FakeSentry, req: Request) -> Reply:
    if (denied := _gate(self, req, new=True)) is not None:
        return denied
    wanted = req.arg("project")
    found = list(self.workflows.values())
    if wanted:
        mine = {d["id"] for d in self.detectors.values() if d["projectId"] == wanted}
        found = [w for w in found if mine & set(w["detectorIds"])]
    return self._page(req, found, req.path)


def _create_workflow(self: FakeSentry, req: Request) -> Reply:
    if (denied := _gate(self, req, new=True, write=True)) is not None:
        return denied
    wid = self._id()
    w: dict[str, Any] = {
        "id": wid,
        "enabled": True,
        "environment": None,
        "config": {},
        "detectorIds": [],
        "triggers": {"id": self._id(), "logicType": "any-short", "conditions": []},
        "actionFilters": [],
        "owner": None,
        "createdBy": "2345",
        "lastTriggered": None,
        "organizationId": "1",
        "dateCreated": NOW,
        "dateUpdated": NOW,
    }
    _workflow_answer(self, w, camel(req.json()))
    self.workflows[wid] = w
    return Reply(201, self.full(req, 201, w))


def _update_workflow(self: FakeSentry, req: Request) -> Reply:
    if (denied := _gate(self, req, new=True, write=True)) is not None:
        return denied
    w = self.workflows.get(req.params["id"])
    if w is None:
        return _missing()
    _workflow_answer(self, w, camel(req.json()))
    return Reply(200, self.full(req, 200, w))


_RULE_KEYS = ("name", "actionMatch", "filterMatch", "frequency", "conditions", "filters", "actions")


def _list_rules(self: FakeSentry, req: Request) -> Reply:
    if (denied := _gate(self, req)) is not None:
        return denied
    rules = self.rules.get((req.params["org"], req.params["project"]))
    if rules is None:
        return _missing()
    return self._page(req, rules, req.path)


def _create_rule(self: FakeSentry, req: Request) -> Reply:
    if (denied := _gate(self, req, write=True)) is not None:
        return denied
    where = (req.params["org"], req.params["project"])
    if where not in self.rules:
        return _missing()
    body = camel(req.json())
    rule: dict[str, Any] = {
        "id": self._id(),
        "filterMatch": "all",
        "filters": [],
        "projects": [where[1]],
        "snooze": False,
        "status": "active",
        "dateCreated": NOW,
        "environment": None,
        "owner": None,
        "createdBy": {"id": 2345, "name": "Jane Doe", "email": "jane@example.com"},
    }
    rule.update({k: body[k] for k in _RULE_KEYS if k in body})
    self.rules[where].append(rule)
    return Reply(201, self.full(req, 201, rule))


def _update_rule(self: FakeSentry, req: Request) -> Reply:
    if (denied := _gate(self, req, write=True)) is not None:
        return denied
    rules = self.rules.get((req.params["org"], req.params["project"])) or []
    rule = next((r for r in rules if r["id"] == req.params["id"]), None)
    if rule is None:
        return _missing()
    body = camel(req.json())
    rule.update({k: body[k] for k in _RULE_KEYS if k in body})
    return Reply(200, self.full(req, 200, rule))


_METRIC_KEYS = (
    "name",
    "aggregate",
    "dataset",
    "query",
    "timeWindow",
    "thresholdType",
    "projects",
    "comparisonDelta",
    "resolveThreshold",
    "environment",
)


def _metric_triggers(self: FakeSentry, triggers: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [
        {
            **t,
            "id": self._id(),
            "actions": [{**a, "id": self._id()} for a in t.get("actions") or []],
        }
        for t in triggers
    ]


def _list_metric(self: FakeSentry, req: Request) -> Reply:
    if (denied := _gate(self, req)) is not None:
        return denied
    return self._page(req, self.metric_alerts.get(req.params["org"], []), req.path)


def _create_metric(self: FakeSentry, req: Request) -> Reply:
    if (denied := _gate(self, req, write=True)) is not None:
        return denied
    body = camel(req.json())
    rule: dict[str, Any] = {
        "id": self._id(),
        "organizationId": self.orgs[req.params["org"]]["id"],
        "createdBy": {"id": 2345, "name": "Jane Doe", "email": "jane@example.com"},
        "dateCreated": NOW,
        "dateModified": NOW,
    }
    rule.update({k: body[k] for k in _METRIC_KEYS if k in body})
    rule["triggers"] = _metric_triggers(self, body.get("triggers") or [])
    self.metric_alerts.setdefault(req.params["org"], []).append(rule)
    return Reply(201, self.full(req, 201, rule))


def _update_metric(self: FakeSentry, req: Request) -> Reply:
    if (denied := _gate(self, req, write=True)) is not None:
        return denied
    rules = self.metric_alerts.get(req.params["org"], [])
    rule = next((r for r in rules if r["id"] == req.params["id"]), None)
    if rule is None:
        return _missing()
    body = camel(req.json())
    rule.update({k: body[k] for k in _METRIC_KEYS if k in body})
    if "triggers" in body:
        rule["triggers"] = _metric_triggers(self, body["triggers"] or [])
    rule["dateModified"] = NOW
    return Reply(200, self.full(req, 200, rule))
