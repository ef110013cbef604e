"""The Done checklist's facts (``wizard.checklist_facts.gather``) through a real Session,
against the Supabase, Sentry and GitHub stand-ins: backups scheduled or not, the unresolved
issue count (0, a few, more than one page), the last run on the default branch (success,
failure, none, in progress), one service refusing while the other two still answer, service
text kept as plain text, and nothing but GETs sent."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.fakes.github import FakeGitHub, Repo
from tests.fakes.sentry import FakeSentry
from tests.fakes.supabase import FakeProject, FakeSupabase
from wizard.checklist import CHECKLIST
from wizard.checklist_facts import BACKUPS, CI, SENTRY, Fact, gather
from wizard.cli import main
from wizard.engine import Session
from wizard.envfile import format_assignment

SUPABASE_TOKEN = "sbp_" + "a1b2c3d4e5" * 4
SENTRY_TOKEN = "sntryu_" + "0123456789abcdef" * 4
GITHUB_TOKEN = "ghp_" + "Facts0123456789abcdefghijklmnopqrstu"
REF = "qwertyuiopasdfghjklz"  # a Supabase project ref: 20 lower-case letters
ORG, PROJECT, REPO = "acme", "dream-pixel", "dream-pixel/app"
POOLER = (
    f"postgresql://postgres.{REF}:pw@aws-0-us-east-1.pooler.supabase.com:6543/postgres"
    "?sslmode=require"
)
STEPS = ("database", "sentry", "github")


def _ago(**delta: float) -> str:
    return (datetime.now(UTC) - timedelta(**delta)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@dataclass
class World:
    app: Path
    supabase: FakeSupabase
    sentry: FakeSentry
    github: FakeGitHub
    project: FakeProject
    repo: Repo

    @property
    def env(self) -> dict[str, str]:
        return {
            "SUPABASE_ACCESS_TOKEN": SUPABASE_TOKEN,
            "SUPABASE_API_URL": self.supabase.url,
            "SENTRY_URL": self.sentry.url,
            "GITHUB_TOKEN": GITHUB_TOKEN,
            "GITHUB_REPOSITORY": REPO,
            "GITHUB_API_URL": self.github.url,
        }

    def session(self, done: tuple[str, ...] = STEPS) -> Session:
        session = Session.open(self.app, env=self.env)
        for step_id in done:
            session.mark_done(step_id)
        return session

    def facts(self, done: tuple[str, ...] = STEPS) -> dict[str, Fact]:
        return asyncio.run(gather(self.session(done)))

    def sent(self) -> list[str]:
        return [
            f"{r.method} {r.path}"
            for fake in (self.supabase, self.sentry, self.github)
            for r in fake.requests()
        ]


@pytest.fixture(name="world")
def world_fixture(tmp_path: Path) -> Iterator[World]:
    app = tmp_path / "app"
    app.mkdir()
    (app / "package.json").write_text("{}")
    values = {
        "DATABASE_URL": POOLER,
        "SENTRY_AUTH_TOKEN": SENTRY_TOKEN,
        "SENTRY_ORG": ORG,
        "SENTRY_PROJECT": PROJECT,
    }
    (app / ".env.production").write_text(
        "".join(format_assignment(k, v) + "\n" for k, v in values.items())
    )
    project = FakeProject(REF, "dream-pixel")
    with (
        FakeSupabase(SUPABASE_TOKEN, [project]) as supabase,
        FakeSentry(SENTRY_TOKEN) as sentry,
        FakeGitHub() as github,
    ):
        sentry.add_org(ORG)
        sentry.add_project(ORG, PROJECT)
        github.add_token(GITHUB_TOKEN)
        repo = github.add_repo(REPO)
        yield World(app, supabase, sentry, github, project, repo)


# -- database backups --------------------------------------------------------------------------
def test_backups_scheduled_pass_with_the_latest_and_the_page(world: World) -> None:
    world.project.backups = [
        {"status": "COMPLETED", "inserted_at": _ago(days=2, hours=1)},
        {"status": "COMPLETED", "inserted_at": _ago(hours=20)},
    ]
    fact = world.facts()[BACKUPS]
    assert fact.status == "pass"
    assert "2 to restore from" in fact.detail and "latest completed" in fact.detail
    assert fact.link == f"https://supabase.com/dashboard/project/{REF}/database/backups/scheduled"
    assert world.supabase.requests("GET", f"/v1/projects/{REF}/database/backups")


def test_free_plan_without_backups_fails_with_a_fix(world: World) -> None:
    world.project.backups = []  # the Free plan: nothing to restore, WAL-G on all the same
    fact = world.facts()[BACKUPS]
    assert fact.status == "fail"
    assert "Free plan" in fact.detail
    assert "Pro" in fact.fix and "supabase db dump" in fact.fix
    assert fact.link and fact.link.endswith(f"/project/{REF}/database/backups/scheduled")


def test_backups_that_stopped_fail(world: World) -> None:
    world.project.backups = [{"status": "COMPLETED", "inserted_at": _ago(days=5)}]
    fact = world.facts()[BACKUPS]
    assert fact.status == "fail" and "5 days ago" in fact.detail
    assert "Supabase support" in fact.fix


def test_pitr_passes_without_daily_backups(world: World) -> None:
    # With Point-in-Time Recovery on, Supabase takes no daily backups: PITR replaces them.
    world.project.pitr_enabled = True
    world.project.latest_physical = int(time.time()) - 3600
    fact = world.facts()[BACKUPS]
    assert fact.status == "pass" and "Point-in-Time Recovery is on" in fact.detail
    assert fact.link and fact.link.endswith("/database/backups/pitr")


def test_not_supabase_gives_no_backups_fact(world: World) -> None:
    neon = "postgresql://u:pw@ep-cool-1.us-east-2.aws.neon.tech/db?sslmode=require"
    (world.app / ".env.production").write_text(
        format_assignment("DATABASE_URL", neon) + "\n" + format_assignment("SENTRY_ORG", ORG)
    )
    facts = world.facts()
    assert BACKUPS not in facts
    assert not world.supabase.requests()


# -- Sentry ------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("count", "status", "detail"),
    [
        (0, "pass", "no unresolved issues"),
        (1, "info", "1 unresolved issue"),
        (3, "info", "3 unresolved issues"),
        (100, "info", "100 unresolved issues"),
        (101, "info", "100+ unresolved issues"),
    ],
)
def test_sentry_unresolved_count(world: World, count: int, status: str, detail: str) -> None:
    world.sentry.add_issues(ORG, PROJECT, count)
    world.sentry.add_issues(ORG, PROJECT, 4, status="resolved")  # not counted
    fact = world.facts()[SENTRY]
    assert (fact.status, fact.detail) == (status, detail)
    # One page at most, however many there are.
    assert len(world.sentry.requests("GET", r"/issues/$")) == 1


def test_sentry_links_the_projects_unresolved_issues(world: World) -> None:
    fact = world.facts()[SENTRY]
    project_id = world.sentry.projects[(ORG, PROJECT)]["id"]
    assert fact.link == (
        f"{world.sentry.url}/organizations/{ORG}/issues/?project={project_id}&query=is%3Aunresolved"
    )


def test_sentry_after_a_real_apply_uses_the_remembered_project(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    world.sentry.add_key(ORG, PROJECT)
    world.sentry.add_issues(ORG, PROJECT, 2)
    for k, v in world.env.items():
        monkeypatch.setenv(k, v)
    assert main(["--project-dir", str(world.app), "apply", "--yes", "--only", "sentry"]) == 0
    session = Session.open(world.app, env=world.env)
    assert session.status("sentry") == "done"
    before = len(world.sentry.requests())
    fact = asyncio.run(gather(session))[SENTRY]
    assert fact.detail == "2 unresolved issues"
    assert f"?project={world.sentry.projects[(ORG, PROJECT)]['id']}&" in (fact.link or "")
    # The project id came from the step's memory: only the issue listing was read.
    assert [r.path for r in world.sentry.requests()[before:]] == [
        f"/api/0/projects/{ORG}/{PROJECT}/issues/"
    ]


# -- CI runs -----------------------------------------------------------------------------------
def test_last_run_success_passes(world: World) -> None:
    world.repo.add_run("CI", conclusion="failure")
    run = world.repo.add_run("Deploy")
    world.repo.add_run("CI", branch="feature/x", conclusion="failure")  # not the default branch
    fact = world.facts()[CI]
    assert fact.status == "pass"
    assert fact.detail.startswith("Deploy #2 on main") and fact.detail.endswith(": success")
    assert fact.link == run["html_url"]
    [listing] = world.github.requests("GET", r"/actions/runs$")
    assert listing.query["branch"] == ["main"] and listing.query["per_page"] == ["1"]


def test_last_run_failure_fails_with_a_fix(world: World) -> None:
    world.repo.default_branch = "trunk"
    world.repo.add_run("CI", branch="trunk", conclusion="timed_out")
    fact = world.facts()[CI]
    assert fact.status == "fail" and " on trunk" in fact.detail and "timed_out" in fact.detail
    assert fact.fix


def test_no_run_yet_is_info_linking_the_actions_page(world: World) -> None:
    fact = world.facts()[CI]
    assert (fact.status, fact.detail) == ("info", "no workflow run on main yet")
    assert fact.link == f"https://github.com/{REPO}/actions"


def test_run_in_progress_is_info(world: World) -> None:
    world.repo.add_run("CI", status="in_progress", conclusion=None)
    fact = world.facts()[CI]
    assert fact.status == "info" and fact.detail.endswith(": in_progress")


def test_service_text_arrives_as_plain_text(world: World) -> None:
    world.repo.add_run("[/] prod \x1b[2J\x1b]0;owned\x07deploy\nnow", conclusion="success")
    fact = world.facts()[CI]
    assert fact.detail.startswith("[/] prod deploy now #1 on main")
    assert not any(ord(c) < 32 or c == "\x7f" for c in fact.detail)


# -- failures, scope, and what is sent ---------------------------------------------------------
def test_one_service_refusing_leaves_the_others_and_names_it(world: World) -> None:
    world.project.backups = [{"status": "COMPLETED", "inserted_at": _ago(hours=3)}]
    world.sentry.can_read_issues = False  # a token without event:read: 403
    world.repo.add_run("CI")
    facts = world.facts()
    assert facts[BACKUPS].status == "pass" and facts[CI].status == "pass"
    sentry = facts[SENTRY]
    assert sentry.status == "unknown"
    assert "Sentry (SENTRY_AUTH_TOKEN)" in sentry.detail and "403" in sentry.detail
    assert "event:read" in sentry.fix
    assert SENTRY_TOKEN not in sentry.detail + sentry.fix


def test_a_rejected_token_is_named(world: World) -> None:
    world.github.tokens.clear()  # the token was revoked: 401
    world.sentry.add_issues(ORG, PROJECT, 3)
    facts = world.facts()
    assert facts[SENTRY].detail == "3 unresolved issues"
    ci = facts[CI]
    assert ci.status == "unknown" and "GitHub (GITHUB_TOKEN)" in ci.detail and "401" in ci.detail
    assert "GITHUB_TOKEN" in ci.fix
    # Unread, the page is the server's own (GitHub Enterprise: the API's host; here loopback).
    assert ci.link == f"{world.github.url}/{REPO}/actions"


def test_supabase_refusal_is_named(world: World) -> None:
    world.project.backups_readable = False
    fact = world.facts()[BACKUPS]
    assert fact.status == "unknown" and "Supabase" in fact.detail and "403" in fact.detail
    assert REF in fact.fix


def test_a_stalled_service_ends_in_time(world: World) -> None:
    world.github.inject(stall=True, path=r"/repos/")
    started = time.monotonic()
    facts = asyncio.run(gather(world.session(), deadline=1.0))
    assert time.monotonic() - started < 10
    assert facts[CI].status == "unknown" and "within 1 s" in facts[CI].detail
    assert facts[SENTRY].status == "pass"


def test_steps_not_done_give_no_facts(world: World) -> None:
    world.repo.add_run("CI")
    facts = world.facts(done=("sentry",))
    assert list(facts) == [SENTRY]
    assert not world.supabase.requests() and not world.github.requests()


def test_only_reads_are_sent(world: World) -> None:
    world.project.backups = [{"status": "COMPLETED", "inserted_at": _ago(hours=3)}]
    world.sentry.add_issues(ORG, PROJECT, 2)
    world.repo.add_run("CI")
    facts = world.facts()
    assert set(facts) == {BACKUPS, SENTRY, CI} and set(facts) <= {i for i, _ in CHECKLIST}
    sent = world.sent()
    assert sent and all(s.startswith("GET ") for s in sent), sent


# -- the line mode's end -----------------------------------------------------------------------
def test_plain_ends_with_the_facts_and_checks_a_live_site_unasked(
    world: World, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from tests.fakes.site import good_site
    from wizard.plain import PlainWalk

    world.repo.add_run("[/] Deploy", conclusion="failure")
    with good_site() as site:
        session = world.session(("github", "deploy"))
        session.set_value("NEXTAUTH_URL", site.url)
        session.state.step("domain").memory["live"] = True
        session.mark_done("domain")
        walk = PlainWalk(session, dry_run=False)

        def no_questions(message: str, default: bool) -> bool:
            raise AssertionError(f"asked: {message}")

        monkeypatch.setattr(walk, "confirm", no_questions)
        walk.post_deploy()
        assert site.count("/api/health") >= 1
    out = capsys.readouterr().out
    assert "From the services:" in out
    assert f"✗ {CI}: [/] Deploy #1 on main" in out and "failure" in out
    assert "Health endpoint" in out
    assert BACKUPS not in out.split("From the services:")[1]  # not done: the user's to tick
