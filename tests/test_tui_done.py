"""The Done page's two actions beyond the checklist, in the real app against stand-ins:
the site verified by itself once the walk has made it live (deploy and domain done), and
the guide's Rollback Procedure (ctrl+b): listed, confirmed, promoted, with the database
advice when the deployment rolled back from came with migrations; and what the services say
about three checklist items (backups, Sentry's unresolved issues, the last CI run)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from textual.pilot import Pilot
from textual.widgets import Button

from screens.app import WizardApp
from screens.modals import ConfirmModal, MessageModal, ResumeModal
from tests.fakes.site import FakeSite, good_site
from tests.fakes.vercel import FakeVercel, Project
from tests.test_checklist_facts import (
    ORG,
    PROJECT,
    REPO,
    World,
    world_fixture,  # noqa: F401 (fixture: world)
)
from tests.tuikit import (  # noqa: F401 (fixtures)
    fixed_local_checks_fixture,
    no_retries_fixture,
    project_fixture,
    run,
    settle,
    until,
)
from wizard.checklist import CHECKLIST
from wizard.checklist_facts import BACKUPS, CI, SENTRY
from wizard.engine import Session

TOKEN = "vercel-test-token-0123456789"
MIGRATION = "20240301000000_add_credits"


@pytest.fixture
def site() -> Iterator[FakeSite]:
    with good_site() as s:
        yield s


@pytest.fixture
def vercel() -> Iterator[FakeVercel]:
    with FakeVercel(TOKEN) as v:
        yield v


def live_session(project: Path, url: str, *, live: bool = True, env: dict[str, str] | None = None):
    session = Session.open(project, env=env or {})
    session.set_value("NEXTAUTH_URL", url)
    session.mark_done("deploy")
    session.state.step("domain").memory["live"] = live
    session.mark_done("domain")
    return session


async def past_resume(app: WizardApp, pilot: Pilot[int]) -> None:
    if isinstance(app.screen, ResumeModal):
        await pilot.press("escape")
        await settle(pilot)


def results(app: WizardApp) -> str:
    return str(app.screen.query_one("#verify-results").render())


def test_done_verifies_a_site_the_walk_made_live_once_by_itself(
    project: Path, site: FakeSite
) -> None:
    session = live_session(project, site.url)

    async def script(app: WizardApp, pilot: Pilot[int]) -> None:
        await past_resume(app, pilot)
        assert app.wizard is not None
        await app.wizard.goto("done")
        # Nobody presses ctrl+t.
        await until(pilot, lambda: "passed" in str(app.screen.query_one("#check-result").render()))
        assert "Health endpoint" in results(app)
        seen = site.total
        assert seen > 0
        # Back and forth: the site is not probed again unasked.
        await app.wizard.goto("review")
        await app.wizard.goto("done")
        await settle(pilot)
        assert site.total == seen
        assert results(app) == ""

    run(session, script)


def test_done_waits_to_be_asked_while_the_domain_is_not_live(project: Path, site: FakeSite) -> None:
    session = live_session(project, site.url, live=False)

    async def script(app: WizardApp, pilot: Pilot[int]) -> None:
        await past_resume(app, pilot)
        assert app.wizard is not None
        await app.wizard.goto("done")
        await settle(pilot)
        assert site.total == 0 and results(app) == ""
        assert app.screen.query("#btn-rollback")  # deployed: a rollback is offered
        assert "ctrl+b" in app.screen.active_bindings

    run(session, script)


def vercel_world(vercel: FakeVercel) -> tuple[Project, dict[str, str]]:
    project = vercel.add_project("dream-pixel")
    env = {"VERCEL_API_URL": vercel.url, "VERCEL_TOKEN": TOKEN, "VERCEL_PROJECT_ID": project.name}
    return project, env


def promotes(vercel: FakeVercel) -> list[str]:
    return [r.path for r in vercel.requests("POST") if "/promote/" in r.path]


def modal_text(app: WizardApp) -> str:
    return str(app.screen.query_one(".dialog-message").render())


def test_rollback_from_done_lists_confirms_promotes_and_gives_the_database_advice(
    project: Path, vercel: FakeVercel
) -> None:
    vproject, env = vercel_world(vercel)
    older = vercel.add_deployment(vproject, age_ms=120_000)
    newer = vercel.add_deployment(vproject, age_ms=1_000)
    session = live_session(project, "https://dreampixel.test", live=False, env=env)
    session.state.step("deploy").memory["history"] = {newer.id: [MIGRATION]}
    session.save()

    async def script(app: WizardApp, pilot: Pilot[int]) -> None:
        await past_resume(app, pilot)
        assert app.wizard is not None
        await app.wizard.goto("done")
        await settle(pilot)
        await pilot.press("ctrl+b")
        await settle(pilot)
        assert isinstance(app.screen, ConfirmModal)
        text = modal_text(app)
        assert f"{newer.id}" in text and "production now" in text
        assert f"{older.id}" in text and "rollback target" in text
        assert MIGRATION in text and "prisma migrate resolve --rolled-back" in text
        # Cancel has the focus: a stray Enter changes nothing.
        await pilot.press("enter")
        await settle(pilot)
        assert not isinstance(app.screen, ConfirmModal)
        assert promotes(vercel) == []
        assert vercel.production_of(vproject) is newer

        await pilot.press("ctrl+b")
        await settle(pilot)
        app.screen.query_one("#yes", Button).press()
        await until(pilot, lambda: vercel.production_of(vproject) is older)
        await settle(pilot)
        assert promotes(vercel) == [f"/v10/projects/{vproject.id}/promote/{older.id}"]
        assert vercel.production_of(vproject) is older
        done = str(app.screen.query_one("#rollback-result").render())
        assert f"Production now serves {older.id}" in done
        assert MIGRATION in done

    run(session, script, size=(100, 40))


def test_a_running_rollback_holds_the_page_and_asks_before_quitting(
    project: Path, vercel: FakeVercel
) -> None:
    """Leaving Done would cancel the wait and lose the outcome of a promotion Vercel took."""
    from screens.messages import Navigate

    vproject, env = vercel_world(vercel)
    older = vercel.add_deployment(vproject, age_ms=120_000)
    vercel.add_deployment(vproject, age_ms=1_000)
    session = live_session(project, "https://dreampixel.test", live=False, env=env)

    async def script(app: WizardApp, pilot: Pilot[int]) -> None:
        await past_resume(app, pilot)
        assert app.wizard is not None
        await app.wizard.goto("done")
        await settle(pilot)
        await pilot.press("ctrl+b")
        await settle(pilot)
        vercel.delay = 1.0  # the promotion takes a while
        app.screen.query_one("#yes", Button).press()
        await pilot.pause()
        await pilot.pause()
        assert app.screen.query_one("#btn-rollback", Button).disabled
        app.wizard.post_message(Navigate("review"))
        await pilot.press("ctrl+q")  # once: a warning, not an exit
        await pilot.pause()
        assert app.wizard.page == "done" and app.is_running
        await until(pilot, lambda: vercel.production_of(vproject) is older)
        vercel.delay = 0
        await until(
            pilot,
            lambda: "Production now serves" in str(app.screen.query_one("#check-result").render()),
        )
        assert not app.screen.query_one("#btn-rollback", Button).disabled

    run(session, script, size=(100, 40))


def test_rollback_in_a_dry_run_only_says_what_it_would_promote(
    project: Path, vercel: FakeVercel
) -> None:
    vproject, env = vercel_world(vercel)
    older = vercel.add_deployment(vproject, age_ms=120_000)
    vercel.add_deployment(vproject, age_ms=1_000)
    live_session(project, "https://dreampixel.test", live=False, env=env)
    session = Session.open(project, env=env, dry_run=True)

    async def script(app: WizardApp, pilot: Pilot[int]) -> None:
        await past_resume(app, pilot)
        assert app.wizard is not None
        await app.wizard.goto("done")
        await settle(pilot)
        app.screen.query_one("#btn-rollback", Button).press()
        await settle(pilot)
        assert isinstance(app.screen, MessageModal)
        assert f"would promote {older.id}" in modal_text(app)
        assert promotes(vercel) == []

    run(session, script, dry_run=True, size=(100, 40))


def test_rollback_with_nothing_earlier_is_one_line_and_a_problem_kept(
    project: Path, vercel: FakeVercel
) -> None:
    vproject, env = vercel_world(vercel)
    only = vercel.add_deployment(vproject)
    session = live_session(project, "https://dreampixel.test", live=False, env=env)

    async def script(app: WizardApp, pilot: Pilot[int]) -> None:
        await past_resume(app, pilot)
        assert app.wizard is not None
        await app.wizard.goto("done")
        await settle(pilot)
        await pilot.press("ctrl+b")
        await settle(pilot)
        assert not isinstance(app.screen, ConfirmModal)
        status = str(app.screen.query_one("#check-result").render())
        assert "Vercel" in status and "no earlier READY production deployment" in status
        assert any("rollback" in where for where, _ in app.wizard.problem_log)
        assert promotes(vercel) == [] and vercel.production_of(vproject) is only

    run(session, script, size=(100, 40))


def test_rollback_is_not_offered_before_this_walk_deployed(project: Path) -> None:
    session = Session.open(project, env={})

    async def script(app: WizardApp, pilot: Pilot[int]) -> None:
        assert app.wizard is not None
        await app.wizard.goto("done")
        await settle(pilot)
        assert not app.screen.query("#btn-rollback")
        await pilot.press("ctrl+b")
        await settle(pilot)
        assert app.wizard.page == "done" and not isinstance(app.screen, ConfirmModal)
        assert "ctrl+b" not in app.screen.active_bindings  # nor in the footer

    run(session, script)


# -- facts from the services -------------------------------------------------------------


def item_index(item: str) -> int:
    return next(i for i, (text, _) in enumerate(CHECKLIST) if text == item)


def test_done_shows_what_the_services_say_under_their_items(world: World) -> None:
    world.project.backups = []  # the Free plan: nothing to restore
    world.sentry.add_issues(ORG, PROJECT, 3)
    world.repo.add_run("[/] Deploy [bold]prod", conclusion="failure")
    session = world.session()

    async def script(app: WizardApp, pilot: Pilot[int]) -> None:
        await past_resume(app, pilot)
        assert app.wizard is not None
        await app.wizard.goto("done")

        def fact(item: str) -> str:
            return str(app.screen.query_one(f"#fact-{item_index(item)}").render())

        await until(pilot, lambda: all("✗" in fact(i) for i in (BACKUPS, CI)))
        assert "✗" in fact(BACKUPS) and "Free plan" in fact(BACKUPS)
        assert "supabase db dump" in fact(BACKUPS)  # what to do
        assert "/database/backups/scheduled" in fact(BACKUPS)  # where
        assert "3 unresolved" in fact(SENTRY) and "is%3Aunresolved" in fact(SENTRY)
        assert "[/] Deploy [bold]prod" in fact(CI)  # a service's words, as text
        assert "failure" in fact(CI)
        boxes = {item: app.screen.query_one(f"#post-{item_index(item)}") for item in (BACKUPS, CI)}
        assert not any(b.value for b in boxes.values())  # type: ignore[attr-defined]
        problems = dict(app.wizard.problem_log)
        assert f"Done: {BACKUPS}" in problems and f"Done: {CI}" in problems
        assert f"Done: {SENTRY}" not in problems  # something to look at, not a problem
        assert {r.method for r in world.github.requests()} == {"GET"}

    run(session, script, size=(100, 40))


def test_a_passing_fact_ticks_its_item(world: World) -> None:
    world.repo.add_run("CI", conclusion="success")
    session = world.session(("github",))
    world.github.delay = 0.5  # GitHub takes its time: the page says what it waits for

    async def script(app: WizardApp, pilot: Pilot[int]) -> None:
        await past_resume(app, pilot)
        assert app.wizard is not None
        await app.wizard.goto("done")
        await pilot.pause()
        reading = str(app.screen.query_one(f"#fact-{item_index(CI)}").render())
        assert f"reading the workflow runs of {REPO}" in reading
        box = app.screen.query_one(f"#post-{item_index(CI)}")
        await until(pilot, lambda: bool(box.value))  # type: ignore[attr-defined]
        # Only what was configured is answered: the other items stay the user's.
        assert not app.screen.query_one(f"#fact-{item_index(BACKUPS)}").display
        assert not app.screen.query_one(f"#fact-{item_index(SENTRY)}").display

    run(session, script, size=(100, 40))
