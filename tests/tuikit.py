"""Shared pieces of the Textual wizard's tests (test_tui.py, test_tui_snapshots.py).

Test modules import the fixtures by their function names (``*_fixture``); pytest knows
them by the short names (project, seeded, no_retries; fixed_local_checks is autouse).

No test reaches a service: service steps are skipped, their live checks faked to fail,
or pointed at a closed loopback port. HOME and the keyring are isolated by conftest.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot
from textual.widgets import Input

from screens.app import WizardApp
from screens.fields import FieldRow
from screens.modals import ResumeModal
from screens.sidebar import Sidebar, SidebarItem
from wizard.engine import Session

URL = "https://dreampixel.test"
TITLES = (
    "Prerequisites", "Database", "Redis", "Storage", "Cloudflare", "Sentry", "Stripe",
    "Resend", "Secrets", "Env file", "Vercel", "GitHub",
)  # fmt: skip
SERVICE_STEPS = ("database", "redis", "storage", "cloudflare", "sentry", "stripe", "resend")
# Fixed so that nothing on screen depends on randomness.
NEXTAUTH_SECRET = "a" * 64
JWT_SECRET = "b" * 64
TOKEN = "AXsecret-upstash-token-0123456789"


@pytest.fixture(autouse=True, name="fixed_local_checks")
def fixed_local_checks_fixture(monkeypatch: pytest.MonkeyPatch) -> None:
    """git/node presence differs between machines: the screens must not."""
    import wizard.steps.prerequisites as prereq

    fixed = {
        "git on PATH": True,
        "node on PATH": True,
        "package.json in the project folder": True,
        "GitHub repository": False,
    }
    monkeypatch.setattr(prereq, "local_checks", lambda _ctx: dict(fixed))


@pytest.fixture(name="project")
def project_fixture(tmp_path: Path) -> Path:
    p = tmp_path / "app"
    p.mkdir()
    (p / "package.json").write_text("{}\n")
    return p


@pytest.fixture(name="seeded")
def seeded_fixture(project: Path) -> Path:
    """A project whose generated secrets already exist (fixed values)."""
    env = project / ".env.production"
    env.write_text(f"NEXTAUTH_SECRET={NEXTAUTH_SECRET}\nJWT_SECRET={JWT_SECRET}\n")
    env.chmod(0o600)
    return project


@pytest.fixture(name="no_retries")
def no_retries_fixture(monkeypatch: pytest.MonkeyPatch) -> None:
    import providers.http

    monkeypatch.setattr(
        providers.http, "RetryPolicy", functools.partial(providers.http.RetryPolicy, attempts=1)
    )


def open_session(project: Path, *, dry_run: bool = False) -> Session:
    return Session.open(project, env={}, dry_run=dry_run)


def run(
    session: Session,
    script: Callable[[WizardApp, Pilot[int]], Awaitable[None]],
    *,
    dry_run: bool = False,
    size: tuple[int, int] = (80, 24),
) -> WizardApp:
    app = WizardApp(session, dry_run=dry_run)

    async def main() -> None:
        async with app.run_test(size=size) as pilot:
            await pilot.pause()
            await script(app, pilot)

    asyncio.run(main())
    return app


async def settle(pilot: Pilot[Any]) -> None:
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()
    await pilot.pause()


async def until(pilot: Pilot[Any], condition: Callable[[], bool], timeout: float = 20) -> None:
    """Settle until ``condition`` holds: work that starts after a refresh (a worker the
    page schedules when it is shown) is not there yet for one ``settle`` to wait for."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not condition():
        assert loop.time() < deadline, "the screen never got there"
        await settle(pilot)
        await asyncio.sleep(0.05)


def page(app: WizardApp) -> str:
    assert app.wizard is not None
    return app.wizard.page


def nav(app: WizardApp, page_id: str) -> SidebarItem:
    assert app.wizard is not None
    return app.wizard.query_one(Sidebar).item(page_id)


def field_input(app: WizardApp, key: str) -> Input:
    return app.screen.query_one(f"#field-{key}", Input)


def row(app: WizardApp, key: str) -> FieldRow:
    return app.screen.query_one(f"#row-{key}", FieldRow)


async def fill_prerequisites(app: WizardApp, pilot: Pilot[Any]) -> None:
    field_input(app, "NEXTAUTH_URL").value = URL
    await pilot.press("ctrl+n")
    await settle(pilot)


def preskip(session: Session, *step_ids: str) -> Session:
    """Mark steps skipped before the app starts (the walk then offers to resume)."""
    for step_id in step_ids or (
        *SERVICE_STEPS,
        "vercel",
        "github",
        "migrate",
        "deploy",
        "domain",
        "monitoring",
        "safeguards",
    ):
        session.mark_skipped(step_id, "not in this test")
    return session


async def walk_to_review(app: WizardApp, pilot: Pilot[Any]) -> None:
    """From the start of a ``preskip``ped session: the steps that need no service."""
    if isinstance(app.screen, ResumeModal):
        await pilot.press("enter")
        await settle(pilot)
    await fill_prerequisites(app, pilot)
    assert page(app) == "secrets"  # Next goes to the next step still to do
    await pilot.press("ctrl+n")  # secrets: check (offline) and continue
    await settle(pilot)
    assert page(app) == "env-file"
    await pilot.press("ctrl+n")
    await settle(pilot)
    assert page(app) == "review"
    await settle(pilot)


def files_under(root: Path) -> set[str]:
    return {str(p.relative_to(root)) for p in root.rglob("*")}


def ready_to_apply(project: Path, *, dry_run: bool = False) -> Session:
    """Service steps skipped, prerequisites done: the review has something to show."""
    session = preskip(open_session(project, dry_run=dry_run))
    session.set_value("NEXTAUTH_URL", URL)
    session.mark_done("prerequisites")
    return session


async def to_review(app: WizardApp, pilot: Pilot[Any]) -> None:
    await pilot.press("v")  # the resume dialog's "Review"
    await settle(pilot)
