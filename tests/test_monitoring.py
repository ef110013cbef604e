"""The `monitoring` step through the real CLI, against the Sentry and Better Stack stand-ins:
the four alerts created once with their conditions (current API, and the legacy rules where
it 404s), a second run changing nothing, someone else's alert untouched, a dry run that only
reads, a token without alerts:write named in one line, and the uptime monitor made once."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from providers.http import error_message
from tests.fakes.betterstack import FakeBetterStack
from tests.fakes.sentry import FakeSentry
from wizard.cli import main
from wizard.envfile import format_assignment

TOKEN = "sntryu_" + "0123456789abcdef" * 4  # a user token: 64 hex digits
BS_TOKEN = "bs-uptime-0123456789abcdefghij"
ORG, PROJECT = "acme", "dream-pixel"
SITE = "https://dreampixel.app"
NAMES = [
    "Dream Pixel — new issues",
    "Dream Pixel — regressions",
    "Dream Pixel — error rate above 1%",
    "Dream Pixel — performance regression",
]
MUTATING = {"POST", "PUT", "PATCH", "DELETE"}


@dataclass
class World:
    sentry: FakeSentry
    uptime: FakeBetterStack
    app: Path
    inputs: Path
    uptime_token: bool = True

    def cli(self, monkeypatch: pytest.MonkeyPatch, *args: str) -> int:
        monkeypatch.setenv("SENTRY_URL", self.sentry.url)
        monkeypatch.setenv("BETTERSTACK_API_URL", self.uptime.url)
        if self.uptime_token:
            monkeypatch.setenv("BETTERSTACK_API_TOKEN", BS_TOKEN)
        else:
            monkeypatch.delenv("BETTERSTACK_API_TOKEN", raising=False)
        argv = ["--project-dir", str(self.app), *args, "--env-file", str(self.inputs)]
        return main([*argv, "--only", "monitoring"])

    def plan(self, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> dict:
        assert self.cli(monkeypatch, "plan", "--json") in (0, 2)
        return {
            (c["target"], c["resource"]): c["action"]
            for c in json.loads(capsys.readouterr().out)["changes"]
            if "resource" in c
        }

    def mutations(self) -> list[str]:
        return [
            f"{r.method} {r.path}"
            for fake in (self.sentry, self.uptime)
            for r in fake.requests()
            if r.method in MUTATING
        ]


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    app = tmp_path / "app"
    app.mkdir()
    (app / "package.json").write_text("{}")
    inputs = tmp_path / "inputs.env"
    values = {
        "NEXTAUTH_URL": SITE,
        "SENTRY_AUTH_TOKEN": TOKEN,
        "SENTRY_ORG": ORG,
        "SENTRY_PROJECT": PROJECT,
    }
    inputs.write_text("".join(format_assignment(k, v) + "\n" for k, v in values.items()))
    with FakeSentry(TOKEN) as sentry, FakeBetterStack(BS_TOKEN) as uptime:
        sentry.add_org(ORG)
        sentry.add_project(ORG, PROJECT)
        yield World(sentry, uptime, app, inputs)


def _conditions(w: dict) -> list[str]:
    return [c["type"] for c in w["triggers"]["conditions"]]


def _mail_targets(w: dict) -> list[tuple[str, str]]:
    return [
        (a["config"]["targetType"], a["config"]["targetIdentifier"])
        for f in w["actionFilters"]
        for a in f["actions"]
        if a["type"] == "email"
    ]


def _thresholds(monitor: dict) -> list[tuple[str, float, int]]:
    return [
        (c["type"], c["comparison"], c["conditionResult"])
        for c in monitor["conditionGroup"]["conditions"]
    ]


def test_alerts_created_once_with_their_conditions(world, monkeypatch, capsys):
    theirs = world.sentry.project_detectors(ORG, PROJECT)[0]["id"]
    # Someone else's alert on the same project: never touched.
    world.sentry.workflows["77"] = {
        "id": "77", "name": "Ops — everything", "enabled": True, "environment": None,
        "config": {"frequency": 5}, "detectorIds": [theirs],
        "triggers": {"id": "1", "logicType": "any-short", "conditions": []},
        "actionFilters": [], "owner": None, "createdBy": "1", "lastTriggered": None,
        "organizationId": "1", "dateCreated": "2026-01-01T00:00:00Z",
        "dateUpdated": "2026-01-01T00:00:00Z",
    }  # fmt: skip
    before = json.dumps(world.sentry.workflows["77"], sort_keys=True)

    plan = world.plan(monkeypatch, capsys)
    for name in NAMES:
        assert plan[("sentry", f"alert:{name}")] == "create"
    assert plan[("betterstack", f"uptime:{SITE}/api/health")] == "create"
    assert world.mutations() == []  # the dry run only read

    assert world.cli(monkeypatch, "apply", "--yes") == 0
    capsys.readouterr()
    workflows = {w["name"]: w for w in world.sentry.project_workflows(ORG, PROJECT)}
    assert sorted(workflows) == sorted([*NAMES, "Ops — everything"])
    assert _conditions(workflows[NAMES[0]]) == ["first_seen_event"]
    assert _conditions(workflows[NAMES[1]]) == ["regression_event"]
    for name in NAMES:
        assert _mail_targets(workflows[name]) == [("issue_owners", "")]
    monitors = {d["name"]: d for d in world.sentry.project_detectors(ORG, PROJECT)}
    rate = monitors[NAMES[2]]
    # failure_rate() is a fraction (1% = 0.01) measured on spans: sentry.io refuses new
    # transaction-based monitors (see METRICS in wizard/steps/monitoring.py for the sources).
    query = rate["dataSources"][0]["queryObj"]["snubaQuery"]
    assert {k: query[k] for k in ("aggregate", "dataset", "eventTypes", "query", "timeWindow")} == {
        "aggregate": "failure_rate()",
        "dataset": "events_analytics_platform",
        "eventTypes": ["trace_item_span"],
        "query": "is_transaction:true",
        "timeWindow": 3600,
    }
    assert _thresholds(rate) == [("gt", 0.01, 75), ("lte", 0.01, 0)]
    assert rate["config"] == {"detectionType": "static"}
    assert workflows[NAMES[2]]["detectorIds"] == [rate["id"]]
    perf = monitors[NAMES[3]]
    # A change monitor compares the value as a percentage of the week before: +50% is 150.
    assert perf["config"] == {"detectionType": "percent", "comparisonDelta": 604800}
    assert _thresholds(perf) == [("gt", 150, 75), ("lte", 150, 0)]
    assert perf["dataSources"][0]["queryObj"]["snubaQuery"]["aggregate"] == "p95(span.duration)"
    assert workflows[NAMES[3]]["detectorIds"] == [perf["id"]]
    # The issue alerts hang on the project's error monitor.
    assert workflows[NAMES[0]]["detectorIds"] == [theirs]
    [monitor] = world.uptime.monitors
    assert monitor["attributes"]["url"] == f"{SITE}/api/health"
    assert monitor["attributes"]["check_frequency"] == 300 and monitor["attributes"]["email"]

    # A second run: every read, no write.
    sent = len(world.mutations())
    assert world.cli(monkeypatch, "apply", "--yes") == 0
    assert len(world.mutations()) == sent
    capsys.readouterr()
    plan = world.plan(monkeypatch, capsys)
    assert {a for (t, _), a in plan.items() if t in ("sentry", "betterstack")} == {"unchanged"}
    assert json.dumps(world.sentry.workflows["77"], sort_keys=True) == before
    assert len(world.uptime.monitors) == 1


def test_a_changed_alert_is_put_back_and_the_team_mailed(world, monkeypatch, capsys):
    world.sentry.add_team(ORG, "web")
    assert world.cli(monkeypatch, "apply", "--yes") == 0
    [w] = [w for w in world.sentry.workflows.values() if w["name"] == NAMES[1]]
    w["triggers"]["conditions"] = []  # edited by hand in the console
    capsys.readouterr()
    assert world.cli(monkeypatch, "apply", "--yes", "--set", "sentry_alert_team=web") == 0
    team_id = world.sentry.teams[ORG][0]["id"]
    workflows = {w["name"]: w for w in world.sentry.project_workflows(ORG, PROJECT)}
    assert _conditions(workflows[NAMES[1]]) == ["regression_event"]
    for name in NAMES:
        assert _mail_targets(workflows[name]) == [("team", team_id)]
    assert len(workflows) == 4


def test_self_hosted_without_the_new_api_gets_the_legacy_rules(world, monkeypatch, capsys):
    world.sentry.new_api = False
    world.sentry.add_team(ORG, "backend", project=PROJECT)
    world.sentry.rules[(ORG, PROJECT)].append(
        {"id": "9", "name": "Send a notification for high priority issues", "actionMatch": "any",
         "filterMatch": "all", "frequency": 5, "conditions": [], "filters": [], "actions": [],
         "projects": [PROJECT], "snooze": False, "status": "active",
         "dateCreated": "2026-01-01T00:00:00Z"}
    )  # fmt: skip
    plan = world.plan(monkeypatch, capsys)
    assert all(plan[("sentry", f"alert:{n}")] == "create" for n in NAMES)
    assert world.mutations() == []
    assert world.cli(monkeypatch, "apply", "--yes") == 0
    rules = {r["name"]: r for r in world.sentry.rules[(ORG, PROJECT)]}
    assert len(rules) == 3 and rules["Send a notification for high priority issues"]["id"] == "9"
    assert rules[NAMES[0]]["conditions"] == [
        {"id": "sentry.rules.conditions.first_seen_event.FirstSeenEventCondition"}
    ]
    assert rules[NAMES[1]]["actions"][0]["targetType"] == "IssueOwners"
    metric = {r["name"]: r for r in world.sentry.metric_alerts[ORG]}
    rate, perf = metric[NAMES[2]], metric[NAMES[3]]
    # Legacy metric alerts: failure_rate() is a fraction here too (0.01, not 1); a change
    # alert takes the change itself (50%) and comparisonDelta in minutes (a week).
    assert (rate["aggregate"], rate["dataset"], rate["thresholdType"]) == (
        "failure_rate()", "transactions", 0
    )  # fmt: skip
    assert [(t["label"], t["alertThreshold"]) for t in rate["triggers"]] == [("critical", 0.01)]
    assert rate.get("comparisonDelta") is None
    assert (perf["aggregate"], perf["comparisonDelta"]) == ("p95(transaction.duration)", 10080)
    assert [(t["label"], t["alertThreshold"]) for t in perf["triggers"]] == [("critical", 50)]
    assert (
        metric[NAMES[2]]["triggers"][0]["actions"][0]["targetIdentifier"]
        == (world.sentry.teams[ORG][0]["id"])
    )
    sent = len(world.mutations())
    assert world.cli(monkeypatch, "apply", "--yes") == 0
    assert len(world.mutations()) == sent


def test_token_without_alerts_write_is_named_in_one_line(world, monkeypatch, capsys):
    world.sentry.can_write_alerts = False
    world.uptime_token = False
    assert world.cli(monkeypatch, "apply", "--yes") != 0
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if "alerts:write" in line]
    assert len(lines) == 1 and "SENTRY_AUTH_TOKEN" in lines[0]
    assert "Traceback" not in err and TOKEN not in err


def test_without_a_better_stack_token_a_notice_says_what_to_set_up(world, monkeypatch, capsys):
    world.uptime_token = False
    assert world.cli(monkeypatch, "apply", "--yes") == 0
    out = capsys.readouterr()
    assert f"{SITE}/api/health every 5 minutes" in out.out + out.err
    assert world.uptime.requests() == []


def test_a_monitor_left_on_transactions_moves_to_spans(world, monkeypatch, capsys):
    """A monitor of ours on the retired transactions dataset, or with the threshold as a
    percentage (1 instead of 0.01), is put back; sentry.io takes that update."""
    assert world.cli(monkeypatch, "apply", "--yes") == 0
    [rate] = [d for d in world.sentry.detectors.values() if d["name"] == NAMES[2]]
    query = rate["dataSources"][0]["queryObj"]["snubaQuery"]
    query.update(dataset="transactions", eventTypes=["transaction"], query="")
    for c in rate["conditionGroup"]["conditions"]:
        c["comparison"] = 1
    capsys.readouterr()
    plan = world.plan(monkeypatch, capsys)
    assert plan[("sentry", f"monitor:{NAMES[2]}")] == "update"
    assert world.cli(monkeypatch, "apply", "--yes") == 0
    query = rate["dataSources"][0]["queryObj"]["snubaQuery"]
    assert (query["dataset"], query["eventTypes"]) == (
        "events_analytics_platform",
        ["trace_item_span"],
    )
    assert _thresholds(rate) == [("gt", 0.01, 75), ("lte", 0.01, 0)]


def test_the_stand_in_refuses_transaction_monitors_as_sentry_does(world):
    """What the step used to send (transactions dataset) is refused with Sentry's own words,
    and the wizard's error line carries them."""
    body = {
        "name": "Old shape",
        "type": "metric_issue",
        "config": {"detectionType": "static"},
        "dataSources": [
            {"queryType": 1, "dataset": "transactions", "query": "", "aggregate": "failure_rate()",
             "timeWindow": 3600, "environment": None, "eventTypes": ["transaction"]}
        ],
        "conditionGroup": {"logicType": "any", "conditions": [
            {"type": "gt", "comparison": 0.01, "conditionResult": 75},
            {"type": "lte", "comparison": 0.01, "conditionResult": 0},
        ]},
    }  # fmt: skip
    url = f"{world.sentry.url}/api/0/organizations/{ORG}/projects/{PROJECT}/detectors/"
    headers = {"Authorization": f"Bearer {TOKEN}"}
    answer = httpx.post(url, json=body, headers=headers)
    assert answer.status_code == 400
    assert error_message(answer).startswith("Creation of transaction-based alerts is disabled")
    # Without a condition that resolves the issue, Sentry refuses too.
    body["dataSources"][0].update(
        dataset="events_analytics_platform", eventTypes=["trace_item_span"]
    )
    body["conditionGroup"]["conditions"].pop()
    answer = httpx.post(url, json=body, headers=headers)
    assert answer.status_code == 400
    assert "Resolution condition required" in error_message(answer)
    assert world.sentry.project_detectors(ORG, PROJECT)[0]["type"] == "error"  # nothing made


def _bs_monitor(world: World, url: str, name: str, every: int) -> dict:
    monitor = {
        "id": str(len(world.uptime.monitors) + 1),
        "type": "monitor",
        "attributes": {
            "url": url, "pronounceable_name": name, "monitor_type": "status",
            "check_frequency": every, "email": True, "paused": False,
        },
    }  # fmt: skip
    world.uptime.monitors.append(monitor)
    return monitor


def test_our_uptime_monitor_is_found_past_page_one_and_put_back(world, monkeypatch, capsys):
    """Better Stack pages its list (50 a page, pagination.next): our monitor on page two,
    checked hourly by hand, is PATCHed back to every 5 minutes, not created twice."""
    health = f"{SITE}/api/health"
    for n in range(55):  # the url filter matches substrings: all of these come back too
        _bs_monitor(world, f"{health}?probe={n}", f"probe {n}", 60)
    ours = _bs_monitor(world, health, "Dream Pixel — health", 3600)
    plan = world.plan(monkeypatch, capsys)
    assert plan[("betterstack", f"uptime:{health}")] == "update"
    assert world.mutations() == []
    assert world.cli(monkeypatch, "apply", "--yes") == 0
    assert [m for m in world.mutations() if "/api/v2/" in m] == [
        f"PATCH /api/v2/monitors/{ours['id']}"
    ]
    assert ours["attributes"]["check_frequency"] == 300 and ours["attributes"]["email"]
    assert len(world.uptime.monitors) == 56
    capsys.readouterr()
    assert world.plan(monkeypatch, capsys)[("betterstack", f"uptime:{health}")] == "unchanged"


def test_someone_elses_uptime_monitor_of_the_url_is_left_alone(world, monkeypatch, capsys):
    theirs = _bs_monitor(world, f"{SITE}/api/health", "Ops health", 60)
    assert world.cli(monkeypatch, "apply", "--yes") == 0
    assert not [m for m in world.mutations() if "/api/v2/" in m]
    assert theirs["attributes"]["check_frequency"] == 60 and len(world.uptime.monitors) == 1


def test_a_rejected_better_stack_token_is_one_line_with_its_reason(world, monkeypatch, capsys):
    world.uptime.token = "another-token"
    assert world.cli(monkeypatch, "apply", "--yes") != 0
    err = capsys.readouterr().err
    [line] = [line for line in err.splitlines() if "BETTERSTACK_API_TOKEN" in line]
    assert "Better Stack" in line and "Invalid Team API token" in line
    assert "Traceback" not in err and BS_TOKEN not in err


def test_no_uptime_monitor_of_a_url_on_this_machine(world, monkeypatch, capsys):
    """Better Stack checks from the internet: a loopback NEXTAUTH_URL is not watched."""
    local = "http://127.0.0.1:3000"
    world.inputs.write_text(
        world.inputs.read_text().replace(format_assignment("NEXTAUTH_URL", SITE), "")
        + format_assignment("NEXTAUTH_URL", local)
        + "\n"
    )
    assert world.cli(monkeypatch, "apply", "--yes") == 0
    out = capsys.readouterr()
    assert f"{local}/api/health is on this machine" in out.out + out.err
    assert world.uptime.requests() == [] and world.uptime.monitors == []


def test_a_listing_that_is_not_an_object_is_no_page_not_a_crash(world, monkeypatch, capsys):
    world.uptime.inject(200, body=["not", "a", "page"], method="GET", path="^/api/v2/monitors")
    assert world.cli(monkeypatch, "apply", "--yes") == 0
    assert "Traceback" not in capsys.readouterr().err
    assert len(world.uptime.monitors) == 1  # none seen: ours created
