"""Step "monitoring" (guide, Monitoring & Alerts 1 and 5): Sentry alerts and an uptime check.

Four alerts, each found by its stable name ("Dream Pixel — new issues", …) and changed only
when what it does differs; alerts of other names are someone else's and never touched:

- new issues and regressions: Alerts (``workflows``) triggered by ``first_seen_event`` /
  ``regression_event``, tied to the project's error monitor;
- error rate above 1% and a performance regression (p95 50% above the week before): metric
  Monitors (``detectors``), each with an Alert of the same name that mails.

Every alert mails the issue owners, or the team ``--set sentry_alert_team=<slug>``. A Sentry
without the Monitors API (self-hosted, a 404 there) gets the legacy issue alert rules and
metric alerts instead. The uptime monitor of ``NEXTAUTH_URL/api/health`` (every 5 minutes,
mail on downtime) is created on Better Stack when ``BETTERSTACK_API_TOKEN`` is set, and put
back when ours ("Dream Pixel — health") checks otherwise; a monitor of that URL under another
name is someone else's and left alone. Without the token a notice says what to set up by hand.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from functools import partial
from typing import Any
from urllib.parse import urlsplit

from providers.betterstack import DEFAULT_URL as BS_URL
from providers.betterstack import SERVICE as BS_SERVICE
from providers.betterstack import TOKEN_KEY as BS_TOKEN
from providers.betterstack import URL_VARIABLE as BS_VARIABLE
from providers.betterstack import BetterStackClient
from providers.errors import Conflict, NotFound
from providers.sentry import DEFAULT_URL, ORG_KEY, PROJECT_KEY, SERVICE, TOKEN_KEY, SentryAlerts
from providers.urls import is_loopback_host
from wizard.context import StepContext

TEAM_CHOICE = "sentry_alert_team"
PREFIX = "Dream Pixel — "
NEW_ISSUES = PREFIX + "new issues"
REGRESSIONS = PREFIX + "regressions"
ERROR_RATE = PREFIX + "error rate above 1%"
PERFORMANCE = PREFIX + "performance regression"
ALERT_NAMES = (NEW_ISSUES, REGRESSIONS, ERROR_RATE, PERFORMANCE)
UPTIME_EVERY = 300  # seconds (Better Stack's check_frequency unit): the guide's 5 minutes
UPTIME_NAME = PREFIX + "health"
TARGET = "sentry"

# What each metric monitor measures, as Sentry documents it (checked 2026-11):
# - Monitors (detectors) on sentry.io take performance data from spans only: a "transactions"
#   or "generic_metrics" data source is refused with "Creation of transaction-based alerts is
#   disabled, as we migrate to the span dataset. Create span-based alerts (dataset:
#   events_analytics_platform) with the is_transaction:true filter instead" (getsentry/sentry
#   src/sentry/incidents/metric_issue_detector.py). The API description's "Failure Rate Metric
#   Monitor" is failure_rate() on events_analytics_platform, eventTypes ["trace_item_span"],
#   queryType 1, timeWindow in seconds (tests/api-specs/sentry.json.gz, POST .../detectors/).
#   is_transaction:true keeps it to requests (transactions), as the guide means.
# - failure_rate() is a fraction: 1% is 0.01, on monitors and legacy metric alerts alike. Only
#   crash-free rates are turned into percentages before the comparison (getsentry/sentry
#   src/sentry/incidents/utils/process_update_helpers.py); Sentry's monitor form says the same
#   ("failure_rate stores as decimal", placeholder 0.05: static/app/views/detectors/utils/
#   metricDetectorSuffix.spec.tsx).
# - A "percent" (change) monitor's comparison is the new value as a percentage of the old one:
#   50% higher is 150 (static/app/views/detectors/utils/percentThreshold.tsx); its
#   comparisonDelta is in seconds (604800 = a week). Legacy metric alerts take the change itself
#   (alertThreshold 50) and comparisonDelta in minutes (10080).
# - Legacy metric alerts (self-hosted without Monitors) keep the documented transactions
#   dataset: "Failure Rate: queryType 1, dataset transactions, aggregate failure_rate()".
SPANS = {"dataset": "events_analytics_platform", "eventTypes": ["trace_item_span"]}
METRICS: dict[str, dict[str, Any]] = {
    ERROR_RATE: {
        "aggregate": "failure_rate()",
        "threshold": 0.01,
        "config": {"detectionType": "static"},
        "detail": "failure_rate() of requests above 0.01 (1%) over an hour",
        "legacy": {"aggregate": "failure_rate()", "alertThreshold": 0.01},
    },
    PERFORMANCE: {
        "aggregate": "p95(span.duration)",
        "threshold": 150,
        "config": {"detectionType": "percent", "comparisonDelta": 604800},
        "detail": "p95 request duration 50% above the week before",
        "legacy": {
            "aggregate": "p95(transaction.duration)",
            "alertThreshold": 50,
            "comparisonDelta": 10080,
        },
    },
}
TRIGGERS = {NEW_ISSUES: "first_seen_event", REGRESSIONS: "regression_event"}
LEGACY_CONDITIONS = {
    NEW_ISSUES: "sentry.rules.conditions.first_seen_event.FirstSeenEventCondition",
    REGRESSIONS: "sentry.rules.conditions.regression_event.RegressionEventCondition",
}


def _client(ctx: StepContext) -> SentryAlerts:
    token = ctx.require(TOKEN_KEY, SERVICE, "set it in the sentry step")
    return SentryAlerts(token, base_url=ctx.base_url("SENTRY_URL", DEFAULT_URL, SERVICE))


# -- the wanted shapes (camelCase, as Sentry answers) and what is compared ----------------
def _email(team_id: str | None) -> dict[str, Any]:
    if team_id:
        config = {"targetType": "team", "targetDisplay": None, "targetIdentifier": team_id}
        return {"type": "email", "integrationId": None, "data": {}, "config": config}
    config = {"targetType": "issue_owners", "targetDisplay": None, "targetIdentifier": ""}
    data = {"fallthroughType": "ActiveMembers"}
    return {"type": "email", "integrationId": None, "data": data, "config": config}


def workflow_body(name: str, detector_ids: list[str], team_id: str | None) -> dict[str, Any]:
    trigger = TRIGGERS.get(name)
    conditions = [{"type": trigger, "comparison": True, "conditionResult": True}] if trigger else []
    return {
        "name": name,
        "enabled": True,
        "environment": None,
        "config": {"frequency": 30},
        "detectorIds": [int(i) for i in detector_ids if i.isdigit()],
        "triggers": {"logicType": "any-short", "conditions": conditions},
        "actionFilters": [
            {"logicType": "any-short", "conditions": [], "actions": [_email(team_id)]}
        ],
    }


def detector_body(name: str) -> dict[str, Any]:
    m = METRICS[name]
    return {
        "name": name,
        "type": "metric_issue",
        "enabled": True,
        "config": m["config"],
        "dataSources": [
            {
                "queryType": 1,
                **SPANS,
                "query": "is_transaction:true",
                "aggregate": m["aggregate"],
                "timeWindow": 3600,
                "environment": None,
            }
        ],
        "conditionGroup": {
            "logicType": "any",
            "conditions": [
                {"type": "gt", "comparison": m["threshold"], "conditionResult": 75},
                {"type": "lte", "comparison": m["threshold"], "conditionResult": 0},
            ],
        },
    }


def _conds(items: Any, keys: tuple[str, ...]) -> list[tuple[str, ...]]:
    out = [tuple(repr(c.get(k)) for k in keys) for c in items or [] if isinstance(c, dict)]
    return sorted(out)


def _actions(w: dict[str, Any]) -> list[tuple[str, ...]]:
    out = []
    for f in w.get("actionFilters") or []:
        for a in f.get("actions") or []:
            c = a.get("config") or {}
            out.append(
                (str(a.get("type")), str(c.get("targetType")), str(c.get("targetIdentifier") or ""))
            )
    return sorted(out)


def workflow_essence(w: dict[str, Any]) -> dict[str, Any]:
    triggers = w.get("triggers") or {}
    return {
        "enabled": bool(w.get("enabled", True)),
        "detectors": sorted(str(i) for i in w.get("detectorIds") or []),
        "triggers": _conds(triggers.get("conditions"), ("type", "comparison")),
        "actions": _actions(w),
    }


def _query(d: dict[str, Any]) -> dict[str, Any]:
    """A monitor's query: Sentry answers it nested under queryObj.snubaQuery."""
    sources = d.get("dataSources") or [{}]
    src = sources[0] if isinstance(sources[0], dict) else {}
    q = (src.get("queryObj") or {}).get("snubaQuery") or src
    return {k: q.get(k) for k in ("aggregate", "dataset", "eventTypes", "query", "timeWindow")}


def detector_essence(d: dict[str, Any]) -> dict[str, Any]:
    group = d.get("conditionGroup") or {}
    return {
        "type": d.get("type"),
        "enabled": bool(d.get("enabled", True)),
        "config": {k: (d.get("config") or {}).get(k) for k in ("detectionType", "comparisonDelta")},
        "query": _query(d),
        "conditions": _conds(group.get("conditions"), ("type", "comparison", "conditionResult")),
    }


def issue_rule_body(name: str, team_id: str | None) -> dict[str, Any]:
    if team_id:
        action: dict[str, Any] = {"targetType": "Team", "targetIdentifier": int(team_id)}
    else:
        action = {"targetType": "IssueOwners", "fallthroughType": "ActiveMembers"}
    return {
        "name": name,
        "actionMatch": "any",
        "filterMatch": "all",
        "frequency": 30,
        "conditions": [{"id": LEGACY_CONDITIONS[name]}],
        "filters": [],
        "actions": [{"id": "sentry.mail.actions.NotifyEmailAction", **action}],
    }


def issue_rule_essence(r: dict[str, Any]) -> dict[str, Any]:
    return {
        "conditions": sorted(str(c.get("id")) for c in r.get("conditions") or []),
        "actions": sorted(
            (str(a.get("id")), str(a.get("targetType")), str(a.get("targetIdentifier") or ""))
            for a in r.get("actions") or []
        ),
        "frequency": r.get("frequency"),
    }


def metric_alert_body(name: str, project: str, team_id: str) -> dict[str, Any]:
    m = METRICS[name]
    legacy = m["legacy"]
    body: dict[str, Any] = {
        "name": name,
        "aggregate": legacy["aggregate"],
        "dataset": "transactions",
        "query": "",
        "timeWindow": 60,
        "thresholdType": 0,
        "projects": [project],
        "triggers": [
            {
                "label": "critical",
                "alertThreshold": legacy["alertThreshold"],
                "actions": [{"type": "email", "targetType": "team", "targetIdentifier": team_id}],
            }
        ],
    }
    if "comparisonDelta" in legacy:
        body["comparisonDelta"] = legacy["comparisonDelta"]
    return body


def metric_alert_essence(r: dict[str, Any]) -> dict[str, Any]:
    triggers = []
    for t in r.get("triggers") or []:
        actions = sorted(
            (str(a.get("type")), str(a.get("targetType")), str(a.get("targetIdentifier")))
            for a in t.get("actions") or []
        )
        triggers.append((str(t.get("label")), float(t.get("alertThreshold") or 0), actions))
    return {
        "aggregate": r.get("aggregate"),
        "query": r.get("query") or "",
        "timeWindow": r.get("timeWindow"),
        "comparisonDelta": r.get("comparisonDelta"),
        "triggers": triggers,
    }


# -- one resource: create, update or leave ---------------------------------------------------
async def _ensure(
    ctx: StepContext,
    resource: str,
    found: dict[str, Any] | None,
    wanted: dict[str, Any],
    essence: Callable[[dict[str, Any]], dict[str, Any]],
    create: Callable[[], Awaitable[dict[str, Any]]],
    update: Callable[[str, dict[str, Any]], Awaitable[None]],
    detail: str,
) -> str | None:
    """The resource's id once it is as wanted (None: still to be created, in a dry run)."""
    if found is None:
        ctx.change(TARGET, resource, "create", detail, kind="resource")
        if ctx.dry_run:
            return None
        made = await create()
        return str(made.get("id", ""))
    rid = str(found.get("id", ""))
    if essence(found) == essence(wanted):
        ctx.change(TARGET, resource, "unchanged", detail, kind="resource")
        return rid
    ctx.change(TARGET, resource, "update", detail, kind="resource")
    if not ctx.dry_run:
        await update(rid, wanted)
    return rid


def _by_name(items: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for item in items:
        out.setdefault(str(item.get("name", "")), item)
    return out


def _who(team: str | None) -> str:
    return f"mails team #{team}" if team else "mails the issue owners"


async def _current(
    ctx: StepContext,
    client: SentryAlerts,
    org: str,
    project: str,
    project_id: str,
    detectors: list[dict[str, Any]],
    team: tuple[str, str] | None,
) -> None:
    team_id = team[0] if team else None
    who = _who(team[1] if team else None)
    workflows = _by_name(await client.list_workflows(org, project_id))
    mine = _by_name(detectors)
    error_monitor = [str(d.get("id")) for d in detectors if d.get("type") == "error"][:1]
    monitor_ids: dict[str, list[str]] = {}
    for name in (ERROR_RATE, PERFORMANCE):
        body = detector_body(name)
        did = await _ensure(
            ctx,
            f"monitor:{name}",
            mine.get(name),
            body,
            detector_essence,
            partial(client.create_detector, org, project, body),
            partial(client.update_detector, org),
            METRICS[name]["detail"],
        )
        monitor_ids[name] = [did] if did else []
    for name in ALERT_NAMES:
        body = workflow_body(name, monitor_ids.get(name, error_monitor), team_id)
        condition = TRIGGERS.get(name, "monitor " + name)
        await _ensure(
            ctx,
            f"alert:{name}",
            workflows.get(name),
            body,
            workflow_essence,
            partial(client.create_workflow, org, body),
            partial(client.update_workflow, org),
            f"on {condition}; {who}",
        )


async def _legacy(
    ctx: StepContext,
    client: SentryAlerts,
    org: str,
    project: str,
    team: tuple[str, str] | None,
) -> None:
    ctx.notice(
        "Sentry has no Monitors/Alerts API here (self-hosted?): the legacy issue alert rules "
        "and metric alerts are used"
    )
    if team is None:
        # Metric alerts cannot mail issue owners: the project's team is the next best thing.
        teams = await client.list_project_teams(org, project)
        if not teams:
            raise Conflict(
                SERVICE,
                f"project {org}/{project} has no team for the metric alerts to mail",
                key=TEAM_CHOICE,
                hint="add a team to the project, or --set sentry_alert_team=<team slug>",
            )
        metric_team = (teams[0].id, teams[0].slug)
    else:
        metric_team = team
    rules = _by_name(await client.list_issue_rules(org, project))
    for name in (NEW_ISSUES, REGRESSIONS):
        body = issue_rule_body(name, team[0] if team else None)
        await _ensure(
            ctx,
            f"alert:{name}",
            rules.get(name),
            body,
            issue_rule_essence,
            partial(client.create_issue_rule, org, project, body),
            partial(client.update_issue_rule, org, project),
            f"issue alert rule on {TRIGGERS[name]}; {_who(team[1] if team else None)}",
        )
    alerts = _by_name(await client.list_metric_alerts(org, project))
    for name in (ERROR_RATE, PERFORMANCE):
        body = metric_alert_body(name, project, metric_team[0])
        await _ensure(
            ctx,
            f"alert:{name}",
            alerts.get(name),
            body,
            metric_alert_essence,
            partial(client.create_metric_alert, org, body),
            partial(client.update_metric_alert, org),
            f"metric alert: {METRICS[name]['detail']}; mails team #{metric_team[1]}",
        )


async def _sentry(ctx: StepContext) -> None:
    org = ctx.require(ORG_KEY, SERVICE, "set it in the sentry step")
    project = ctx.require(PROJECT_KEY, SERVICE, "set it in the sentry step")
    async with _client(ctx) as client:
        found = await client.get_project(org, project)
        team: tuple[str, str] | None = None
        wanted_team = (ctx.choice(TEAM_CHOICE) or "").strip().lstrip("#")
        if wanted_team:
            teams = {t.slug: t for t in await client.list_teams(org)}
            if wanted_team not in teams:
                raise NotFound(
                    SERVICE,
                    f"team {wanted_team!r} not found in organization {org!r}",
                    key=TEAM_CHOICE,
                    hint="use a team slug from Settings → Teams, or leave it empty to mail the "
                    "issue owners",
                )
            team = (teams[wanted_team].id, wanted_team)
        try:
            detectors = await client.list_detectors(org, found.id)
        except NotFound:
            await _legacy(ctx, client, org, project, team)
            return
        await _current(ctx, client, org, project, found.id, detectors, team)


async def _uptime(ctx: StepContext) -> None:
    site = (ctx.app("NEXTAUTH_URL") or "").rstrip("/")
    if not site:
        return
    url = site + "/api/health"
    if is_loopback_host(urlsplit(site).hostname or ""):
        # A monitor on the internet cannot reach this machine: nothing to watch yet.
        ctx.notice(f"No uptime monitor: {url} is on this machine; set up one for the public URL")
        return
    token = ctx.operator(BS_TOKEN)
    if not token:
        ctx.notice(
            f"No uptime monitor: set {BS_TOKEN} to have one created on Better Stack, or add by "
            f"hand an HTTP check of {url} every 5 minutes that mails you on downtime"
        )
        return
    base = ctx.base_url(BS_VARIABLE, BS_URL, BS_SERVICE)
    resource = f"uptime:{url}"
    detail = "every 5 minutes; e-mail on downtime"
    async with BetterStackClient(token, base_url=base) as client:
        existing = await client.find_monitors(url)
        mine = [m for m in existing if m.name == UPTIME_NAME]
        if existing and not mine:
            # Someone already watches this URL with a monitor of their own: left alone.
            ctx.change("betterstack", resource, "unchanged", detail, kind="resource")
            return
        if mine:
            m = mine[0]
            if (m.monitor_type, m.check_frequency, m.email) == ("status", UPTIME_EVERY, True):
                ctx.change("betterstack", resource, "unchanged", detail, kind="resource")
                return
            ctx.change("betterstack", resource, "update", detail, kind="resource")
            if not ctx.dry_run:
                await client.update_monitor(m.id, url, UPTIME_NAME, every=UPTIME_EVERY)
            return
        ctx.change("betterstack", resource, "create", detail, kind="resource")
        if not ctx.dry_run:
            await client.create_monitor(url, UPTIME_NAME, every=UPTIME_EVERY)


async def run(ctx: StepContext) -> None:
    await _sentry(ctx)
    await _uptime(ctx)
