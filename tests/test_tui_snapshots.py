"""Snapshots of every screen of the Textual wizard at 80x24 and 120x40.

``pytest tests/test_tui_snapshots.py --snapshot-update`` rewrites them after a deliberate
change (look at the SVGs before committing them). Each snapshot also asserts that no
secret typed or loaded appears in the rendered screen.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot
from textual.widgets import Input

from providers.errors import NetworkError
from screens.app import WizardApp
from tests.tuikit import (  # noqa: F401  (the *_fixture names register fixtures)
    JWT_SECRET,
    NEXTAUTH_SECRET,
    TOKEN,
    field_input,
    fixed_local_checks_fixture,
    open_session,
    project_fixture,
    ready_to_apply,
    seeded_fixture,
    settle,
    to_review,
)
from wizard.engine import Session

SIZES = [pytest.param((80, 24), id="80x24"), pytest.param((120, 40), id="120x40")]
Script = Callable[[WizardApp, Pilot[Any]], Awaitable[None]]


def snapshot(
    snap_compare: Any,
    session: Session,
    size: tuple[int, int],
    script: Script | None = None,
    *,
    dry_run: bool = False,
    secrets: tuple[str, ...] = (),
) -> bool:
    app = WizardApp(session, dry_run=dry_run)

    async def before(pilot: Pilot[Any]) -> None:
        await settle(pilot)
        if script is not None:
            await script(app, pilot)
            await settle(pilot)
        for screen in app.screen_stack:
            for widget in screen.query(Input):
                widget.cursor_blink = False
        app.clear_notifications()
        await pilot.pause()
        svg = app.export_screenshot()
        for secret in (NEXTAUTH_SECRET, JWT_SECRET, TOKEN, *secrets):
            assert secret not in svg

    return bool(snap_compare(app, terminal_size=size, run_before=before))


@pytest.mark.parametrize("size", SIZES)
def test_snapshot_validation_error(snap_compare: Any, project: Path, size: tuple[int, int]) -> None:
    async def script(app: WizardApp, pilot: Pilot[Any]) -> None:
        field_input(app, "NEXTAUTH_URL").value = "http://example.com/path"
        await pilot.press("ctrl+n")

    assert snapshot(snap_compare, open_session(project), size, script)


@pytest.mark.parametrize("size", SIZES)
def test_snapshot_step_with_secret(snap_compare: Any, seeded: Path, size: tuple[int, int]) -> None:
    session = open_session(seeded)
    session.mark_done("prerequisites")
    session.mark_skipped("database", "later")

    async def script(app: WizardApp, pilot: Pilot[Any]) -> None:
        await pilot.press("enter")  # resume at Redis
        await settle(pilot)
        field_input(app, "UPSTASH_REDIS_REST_URL").value = "https://eu1-dreampixel.upstash.io"
        token = field_input(app, "UPSTASH_REDIS_REST_TOKEN")
        token.focus()
        await pilot.pause()
        token.value = TOKEN[:-1]
        await pilot.press("end", TOKEN[-1])  # the last character typed, as a user would
        assert token.value == TOKEN

    assert snapshot(snap_compare, session, size, script)


@pytest.mark.parametrize("size", SIZES)
def test_snapshot_skip_modal(snap_compare: Any, project: Path, size: tuple[int, int]) -> None:
    session = open_session(project)
    session.mark_done("prerequisites")

    async def script(app: WizardApp, pilot: Pilot[Any]) -> None:
        await pilot.press("enter")
        await settle(pilot)
        await pilot.press("ctrl+s")
        app.screen.query_one("#skip-reason", Input).value = "using Neon later"

    assert snapshot(snap_compare, session, size, script)


@pytest.mark.parametrize("size", SIZES)
def test_snapshot_check_failed(
    snap_compare: Any, project: Path, size: tuple[int, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    session = open_session(project)
    session.mark_done("prerequisites")
    session.mark_skipped("database", "later")

    async def refused(step_id: str) -> object:
        raise NetworkError(
            "Upstash", "cannot connect (connection refused)", key="UPSTASH_REDIS_REST_URL",
            hint="check the REST URL in the Upstash console",
        )  # fmt: skip

    monkeypatch.setattr(session, "check_step", refused)

    async def script(app: WizardApp, pilot: Pilot[Any]) -> None:
        await pilot.press("enter")
        await settle(pilot)
        field_input(app, "UPSTASH_REDIS_REST_URL").value = "https://eu1-dreampixel.upstash.io"
        field_input(app, "UPSTASH_REDIS_REST_TOKEN").value = TOKEN
        await pilot.press("ctrl+n")

    assert snapshot(snap_compare, session, size, script)


@pytest.mark.parametrize("size", SIZES)
def test_snapshot_resume(snap_compare: Any, project: Path, size: tuple[int, int]) -> None:
    session = open_session(project)
    session.mark_done("prerequisites")
    session.mark_skipped("database", "later")
    assert snapshot(snap_compare, session, size)


@pytest.mark.parametrize("size", SIZES)
def test_snapshot_help(snap_compare: Any, project: Path, size: tuple[int, int]) -> None:
    async def script(app: WizardApp, pilot: Pilot[Any]) -> None:
        await pilot.press("f1")

    assert snapshot(snap_compare, open_session(project), size, script)


@pytest.mark.parametrize("size", SIZES)
def test_snapshot_review_dry_run(snap_compare: Any, seeded: Path, size: tuple[int, int]) -> None:
    session = ready_to_apply(seeded, dry_run=True)
    assert snapshot(snap_compare, session, size, to_review, dry_run=True)


@pytest.mark.parametrize("size", SIZES)
def test_snapshot_apply(snap_compare: Any, seeded: Path, size: tuple[int, int]) -> None:
    async def script(app: WizardApp, pilot: Pilot[Any]) -> None:
        await to_review(app, pilot)
        await pilot.press("ctrl+n", "enter")

    assert snapshot(snap_compare, ready_to_apply(seeded), size, script)


@pytest.mark.parametrize("size", SIZES)
def test_snapshot_done(snap_compare: Any, seeded: Path, size: tuple[int, int]) -> None:
    async def script(app: WizardApp, pilot: Pilot[Any]) -> None:
        await pilot.press("escape")  # resume
        assert app.wizard is not None
        await app.wizard.goto("done")

    assert snapshot(snap_compare, ready_to_apply(seeded), size, script)


def screenshot_256(app: WizardApp) -> str:
    """The screen as a 256-colour terminal shows it: every colour downgraded to the xterm
    palette (Textual's own export is always truecolour)."""
    import io

    from rich.color import ColorSystem
    from rich.console import Console
    from rich.segment import Segment
    from rich.style import Style

    console = Console(
        width=app.size.width,
        height=app.size.height,
        file=io.StringIO(),
        force_terminal=True,
        color_system="truecolor",
        record=True,
        legacy_windows=False,
        safe_box=False,
    )
    console.print(
        app.screen._compositor.render_update(full=True, screen_stack=app._background_screens)
    )

    def downgrade(style: Style | None) -> Style | None:
        if style is None:
            return None
        color = style.color.downgrade(ColorSystem.EIGHT_BIT) if style.color else None
        bgcolor = style.bgcolor.downgrade(ColorSystem.EIGHT_BIT) if style.bgcolor else None
        return style + Style.from_color(color, bgcolor)

    buffer = console._record_buffer
    buffer[:] = [Segment(s.text, downgrade(s.style), s.control) for s in buffer]
    return console.export_svg(title="Dream Pixel setup (256 colours)")


def test_snapshot_step_fields_in_256_colours(snapshot: Any, seeded: Path) -> None:
    """Fields, focus and ticks stay visible on a 256-colour terminal."""
    import asyncio

    from pytest_textual_snapshot import SVGImageExtension

    session = open_session(seeded)
    session.mark_done("prerequisites")
    session.mark_skipped("database", "later")
    app = WizardApp(session)

    async def main() -> str:
        async with app.run_test(size=(80, 24)) as pilot:
            await settle(pilot)
            await pilot.press("enter")  # resume at Redis
            await settle(pilot)
            field_input(app, "UPSTASH_REDIS_REST_URL").value = "https://eu1-dreampixel.upstash.io"
            await pilot.press("tab")  # the token field has the focus
            await settle(pilot)
            for widget in app.screen.query(Input):
                widget.cursor_blink = False
            await pilot.pause()
            return screenshot_256(app)

    svg = asyncio.run(main())
    for secret in (NEXTAUTH_SECRET, JWT_SECRET, TOKEN):
        assert secret not in svg
    assert snapshot.use_extension(SVGImageExtension) == svg


@pytest.mark.parametrize("size", SIZES)
def test_snapshot_rollback_confirmation(
    snap_compare: Any, project: Path, size: tuple[int, int]
) -> None:
    """The Done page's rollback question: what it promotes, in place of what, the list and
    the database advice, with Cancel focused and the buttons on screen at 80x24."""
    from tests.fakes.vercel import FakeVercel

    vercel_token = "vercel-test-token-0123456789"
    with FakeVercel(vercel_token) as vercel:
        vproject = vercel.add_project("dream-pixel")
        vercel.add_deployment(vproject, age_ms=120_000)
        newer = vercel.add_deployment(vproject, age_ms=1_000)
        env = {
            "VERCEL_API_URL": vercel.url,
            "VERCEL_TOKEN": vercel_token,
            "VERCEL_PROJECT_ID": vproject.name,
        }
        session = Session.open(project, env=env)
        session.set_value("NEXTAUTH_URL", "https://dreampixel.test")
        session.mark_done("deploy")
        session.state.step("deploy").memory["history"] = {newer.id: ["20240301000000_credits"]}
        session.save()

        async def script(app: WizardApp, pilot: Pilot[Any]) -> None:
            await pilot.press("escape")  # resume
            assert app.wizard is not None
            await app.wizard.goto("done")
            await settle(pilot)
            await pilot.press("ctrl+b")
            await settle(pilot)

        assert snapshot(snap_compare, session, size, script, secrets=(vercel_token,))
