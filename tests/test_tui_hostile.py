"""Text from outside is text: names and error messages served by the services' local
stand-ins, holding Rich/Textual markup, show literally on every screen and the app lives on.

Each service's stand-in answers every request with an error whose message is hostile
(its real error-body shape); the Supabase stand-in also names its projects so.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from textual.widget import Widget
from textual.widgets import Select

from screens.app import WizardApp
from screens.modals import CheckFailedModal
from tests.fakes.base import FakeService
from tests.fakes.cloudflare import FakeCloudflare
from tests.fakes.github import FakeGitHub
from tests.fakes.resend import FakeResend
from tests.fakes.sentry import FakeSentry
from tests.fakes.supabase import FakeProject, FakeSupabase
from tests.fakes.vercel import FakeVercel
from tests.tuikit import (  # noqa: F401  (the *_fixture names register fixtures)
    SERVICE_STEPS,
    URL,
    fixed_local_checks_fixture,
    nav,
    no_retries_fixture,
    page,
    project_fixture,
    settle,
)
from wizard.engine import Session

HOSTILE = "Pixel [/] prod · Dream Pixel [prod] · [bold]x[/] · [@click=app.quit]"
SUPABASE_TOKEN = "sbp_" + "e" * 40


def shown_text(app: WizardApp) -> str:
    """The text of every Static and notification on every screen, as plain text."""
    from textual.widgets import Static
    from textual.widgets._toast import Toast

    out: list[str] = []
    for screen in app.screen_stack:
        for widget in screen.walk_children(Widget):
            if isinstance(widget, Static | Toast):
                out.append(str(widget.render()))
    return "\n".join(out)


def svg_text(svg: str) -> str:
    """The characters of a screenshot (SVG), unescaped."""
    import html
    import re

    return html.unescape("".join(re.findall(r">([^<>]*)</text>", svg))).replace("\xa0", " ")


@dataclass
class Service:
    step: str
    fake: Callable[[], AbstractContextManager[FakeService]]
    url_var: str
    env: dict[str, str]
    values: dict[str, str]
    body: Any
    status: int = 403


SERVICES = [
    Service(
        "sentry",
        lambda: FakeSentry("sntryu_" + "a" * 64),
        "SENTRY_URL",
        {},
        {
            "SENTRY_ORG": "acme",
            "SENTRY_PROJECT": "dream-pixel",
            "SENTRY_AUTH_TOKEN": "sntryu_" + "a" * 64,
        },
        {"detail": HOSTILE},
    ),
    Service(
        "vercel",
        lambda: FakeVercel("vercel-token-0123456789abcdef"),
        "VERCEL_API_URL",
        {"VERCEL_TOKEN": "vercel-token-0123456789abcdef", "VERCEL_PROJECT_ID": "prj_dream"},
        {},
        {"error": {"code": "forbidden", "message": HOSTILE}},
    ),
    Service(
        "cloudflare",
        lambda: FakeCloudflare("cf-token-0123456789abcdefghijklmnopqrstu"),
        "CLOUDFLARE_API_URL",
        {"CLOUDFLARE_API_TOKEN": "cf-token-0123456789abcdefghijklmnopqrstu"},
        {},
        {"success": False, "errors": [{"code": 9109, "message": HOSTILE}]},
    ),
    Service(
        "resend",
        lambda: FakeResend("re_full_0123456789abcdef"),
        "RESEND_API_URL",
        {},
        {"RESEND_API_KEY": "re_full_0123456789abcdef"},
        {"name": "validation_error", "message": HOSTILE},
        400,
    ),
    Service(
        "github",
        FakeGitHub,
        "GITHUB_API_URL",
        {
            "GITHUB_TOKEN": "ghp_" + "b" * 36,
            "GITHUB_REPOSITORY": "acme/dream-pixel",
            "VERCEL_TOKEN": "vercel-token-0123456789abcdef",
            "VERCEL_PROJECT_ID": "prj_dream",
        },
        {"SENTRY_ORG": "acme", "SENTRY_AUTH_TOKEN": "sntryu_" + "a" * 64},
        {"message": HOSTILE},
    ),
]


@pytest.fixture(name="session_for")
def session_for_fixture(project: Path) -> Iterator[Callable[[Service], Session]]:
    fakes: list[AbstractContextManager[FakeService]] = []

    def make(service: Service) -> Session:
        cm = service.fake()
        fake = cm.__enter__()
        fakes.append(cm)
        fake.inject(service.status, body=service.body, times=1000)
        env = {service.url_var: fake.url, **service.env}
        session = Session.open(project, env=env)
        session.set_value("NEXTAUTH_URL", URL)
        for key, value in service.values.items():
            session.set_value(key, value)
        session.mark_done("prerequisites")
        for other in (
            *SERVICE_STEPS,
            "vercel",
            "github",
            "migrate",
            "deploy",
            "domain",
            "monitoring",
            "safeguards",
        ):
            if other != service.step:
                session.mark_skipped(other, "not in this test")
        return session

    yield make
    for cm in fakes:
        cm.__exit__(None, None, None)


@pytest.mark.parametrize("service", SERVICES, ids=[s.step for s in SERVICES])
def test_hostile_error_from_each_service_shows_literally(
    service: Service, session_for: Callable[[Service], Session], no_retries: None
) -> None:
    session = session_for(service)
    app = WizardApp(session)

    async def main() -> None:
        async with app.run_test(size=(120, 40), notifications=True) as pilot:
            await settle(pilot)
            await pilot.press("escape")  # the resume dialog
            assert app.wizard is not None
            await app.wizard.goto(service.step)
            await settle(pilot)
            await pilot.press("ctrl+t")  # the live check: a notification and the status
            await settle(pilot)
            assert HOSTILE in shown_text(app)
            app.export_screenshot()  # everything rendered once more
            await pilot.press("ctrl+n")  # the failed-check dialog
            await settle(pilot)
            assert isinstance(app.screen, CheckFailedModal)
            assert HOSTILE in shown_text(app)
            await pilot.press("tab", "enter")  # continue anyway
            await settle(pilot)
            await app.wizard.goto("review")  # the plan's failures list it too
            await settle(pilot)
            assert HOSTILE in shown_text(app)
            assert nav(app, service.step).text.startswith("✗")  # the check failed again
            app.export_screenshot()
            assert app.is_running and page(app) == "review"

    asyncio.run(main())
    assert app.return_code in (None, 0)


@pytest.mark.parametrize("count", [1, 2])
def test_hostile_supabase_project_names_in_the_picker(project: Path, count: int) -> None:
    projects = [
        FakeProject("abcdefghijklmnopqrst", "Pixel [/] prod"),
        FakeProject("zyxwvutsrqponmlkjihg", "[bold]x[/] [@click=app.quit]"),
    ][:count]
    with FakeSupabase(SUPABASE_TOKEN, projects) as fake:
        session = Session.open(
            project, env={"SUPABASE_API_URL": fake.url, "SUPABASE_ACCESS_TOKEN": SUPABASE_TOKEN}
        )
        session.set_value("NEXTAUTH_URL", URL)
        session.mark_done("prerequisites")
        app = WizardApp(session)

        async def main() -> None:
            async with app.run_test(size=(80, 24), notifications=True) as pilot:
                await settle(pilot)
                await pilot.press("enter")  # resume at the Database step
                await settle(pilot)
                await pilot.press("ctrl+l")
                await settle(pilot)
                if count == 2:
                    app.screen.query_one("#field-supabase_project", Select).focus()
                    await pilot.pause()
                    await pilot.press("enter")  # open the list: every name is laid out
                    await pilot.pause()
                    listed = svg_text(app.export_screenshot())
                    assert "Pixel [/] prod" in listed
                    assert "[bold]x[/] [@click=app.quit]" in listed
                    await pilot.press("down", "enter")
                    await settle(pilot)
                app.export_screenshot()  # laid out and drawn, the toast included
                assert "Pixel [/] prod" in shown_text(app)
                assert app.is_running and page(app) == "database"

        asyncio.run(main())
    assert app.return_code in (None, 0)
