"""The Textual wizard, driven by Pilot at 80x24: the walk, its dialogs, its failures.

Helpers and fixtures are in tuikit.py; the screens' snapshots in test_tui_snapshots.py.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from textual.binding import Binding
from textual.pilot import Pilot
from textual.widgets import Button, Select

from providers.errors import NetworkError
from screens.app import WizardApp
from screens.modals import CheckFailedModal, ConfirmModal, ResumeModal, SkipModal
from screens.sidebar import Sidebar
from screens.step import StepPane
from tests.fakes.supabase import FakeProject, FakeSupabase
from tests.tuikit import (  # noqa: F401  (the *_fixture names register fixtures)
    JWT_SECRET,
    NEXTAUTH_SECRET,
    SERVICE_STEPS,
    TITLES,
    TOKEN,
    URL,
    field_input,
    files_under,
    fill_prerequisites,
    fixed_local_checks_fixture,
    nav,
    no_retries_fixture,
    open_session,
    page,
    preskip,
    project_fixture,
    ready_to_apply,
    row,
    run,
    seeded_fixture,
    settle,
    to_review,
    walk_to_review,
)
from wizard.engine import Session, StepReport

# -- the walk -------------------------------------------------------------------------------


def test_first_frame_lists_every_step_with_its_status(project: Path) -> None:
    async def script(app: WizardApp, pilot: Pilot[int]) -> None:
        assert app.wizard is not None
        items = app.wizard.query_one(Sidebar).items
        titles = [i.title_text for i in items[: len(TITLES)]]
        assert titles == list(TITLES)
        assert nav(app, "prerequisites").text == "▶ Prerequisites"
        assert nav(app, "redis").text == "· Redis"
        assert app.focused is field_input(app, "NEXTAUTH_URL")

    run(open_session(project), script)


def test_validation_error_is_shown_and_blocks_until_fixed(project: Path) -> None:
    session = open_session(project)

    async def script(app: WizardApp, pilot: Pilot[int]) -> None:
        await pilot.press(*"not-a-url", "tab")
        await pilot.pause()
        assert row(app, "NEXTAUTH_URL").has_error
        error = row(app, "NEXTAUTH_URL").query_one(".field-error")
        assert "must be a URL" in str(error.render())
        await pilot.press("ctrl+n")
        await settle(pilot)
        assert page(app) == "prerequisites"  # refused: still here
        await fill_prerequisites(app, pilot)
        assert page(app) == "database"
        assert nav(app, "prerequisites").text == "✓ Prerequisites"
        assert nav(app, "database").text == "▶ Database"

    run(session, script)
    assert session.status("prerequisites") == "done"
    assert session.value("NEXTAUTH_URL") == URL


def test_skip_records_the_reason_and_moves_on(project: Path) -> None:
    session = open_session(project)

    async def script(app: WizardApp, pilot: Pilot[int]) -> None:
        await fill_prerequisites(app, pilot)
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert isinstance(app.screen, SkipModal)
        await pilot.press(*"no db yet", "enter")
        await settle(pilot)
        assert page(app) == "redis"
        assert nav(app, "database").text == "\u2013 Database"
        await pilot.press("escape")  # back to the skipped step: it says so
        await settle(pilot)
        assert page(app) == "database"

    run(session, script)
    assert session.status("database") == "skipped"
    assert session.skip_reason("database") == "no db yet"


def test_failed_live_check_offers_edit_continue_or_skip(
    project: Path, monkeypatch: pytest.MonkeyPatch, no_retries: None
) -> None:
    session = preskip(open_session(project), "database")
    with socket.socket() as closed:  # bound, never listening: connections are refused
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]

        async def script(app: WizardApp, pilot: Pilot[int]) -> None:
            await pilot.press("enter")  # resume
            await fill_prerequisites(app, pilot)
            assert page(app) == "redis"
            field_input(app, "UPSTASH_REDIS_REST_URL").value = f"http://127.0.0.1:{port}"
            field_input(app, "UPSTASH_REDIS_REST_TOKEN").value = TOKEN
            await pilot.press("ctrl+n")
            await settle(pilot)
            assert isinstance(app.screen, CheckFailedModal)
            assert "Upstash" in app.screen.message
            assert TOKEN not in app.screen.message
            await pilot.press("escape")  # edit values
            await pilot.pause()
            assert page(app) == "redis"
            assert nav(app, "redis").text == "▶ Redis"
            await pilot.press("ctrl+n")
            await settle(pilot)
            assert isinstance(app.screen, CheckFailedModal)
            app.screen.query_one("#skip").press()
            await pilot.pause()
            assert isinstance(app.screen, SkipModal)
            await pilot.press(*"down", "enter")
            await settle(pilot)
            assert page(app) == "storage"
            assert nav(app, "redis").text == "\u2013 Redis"

        run(session, script)
    assert session.skip_reason("redis") == "down"


def test_a_crashing_check_never_takes_the_app_down(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    session = preskip(open_session(project), "database")
    calls: list[str] = []

    async def broken(step_id: str) -> object:
        calls.append(step_id)
        if len(calls) == 1:
            raise RuntimeError("secret=hunter2 leaked in a bug")
        raise NetworkError("Upstash", "cannot connect", key="UPSTASH_REDIS_REST_URL")

    monkeypatch.setattr(session, "check_step", broken)

    async def script(app: WizardApp, pilot: Pilot[int]) -> None:
        await pilot.press("enter")  # resume
        await fill_prerequisites(app, pilot)
        field_input(app, "UPSTASH_REDIS_REST_URL").value = "https://x.upstash.io"
        field_input(app, "UPSTASH_REDIS_REST_TOKEN").value = TOKEN
        await pilot.press("ctrl+t")  # check only
        await settle(pilot)
        result = str(app.screen.query_one("#check-error").render())
        assert "stopped unexpectedly (RuntimeError)" in result
        assert "hunter2" not in result
        await pilot.press("ctrl+t")
        await settle(pilot)
        assert "Upstash (UPSTASH_REDIS_REST_URL): cannot connect" in str(
            app.screen.query_one("#check-error").render()
        )
        assert nav(app, "redis").text == "▶ Redis"
        assert app.is_running

    run(session, script)
    assert calls == ["redis", "redis"]


def test_quit_saves_and_resume_lands_on_the_step_with_answers(project: Path) -> None:
    first = preskip(open_session(project), "database", "redis")

    async def walk(app: WizardApp, pilot: Pilot[int]) -> None:
        await pilot.press("enter")  # resume: at the prerequisites
        await fill_prerequisites(app, pilot)
        assert page(app) == "storage"
        app.screen.query_one("#field-storage", Select).focus()
        await pilot.press("enter", "down", "enter")  # s3 -> r2
        await settle(pilot)
        field_input(app, "CLOUDFLARE_ACCOUNT_ID").value = "0123456789abcdef0123456789abcdef"
        await pilot.press("ctrl+q")
        await pilot.pause()

    app = run(first, walk)
    assert app.return_value == 0
    state = project / ".dream-pixel" / "state-production.json"
    assert "0123456789abcdef0123456789abcdef" in state.read_text()

    again = open_session(project)

    async def resume(app: WizardApp, pilot: Pilot[int]) -> None:
        assert isinstance(app.screen, ResumeModal)
        await pilot.press("enter")  # Resume
        await settle(pilot)
        # The account id is a destination remembered from the last run: used once confirmed.
        assert isinstance(app.screen, ConfirmModal)
        assert "0123456789abcdef0123456789abcdef" in str(app.screen.message)
        app.screen.query_one("#yes", Button).press()
        await settle(pilot)
        assert page(app) == "storage"
        assert app.screen.query_one("#field-storage", Select).value == "r2"
        assert field_input(app, "CLOUDFLARE_ACCOUNT_ID").value == "0123456789abcdef0123456789abcdef"
        assert nav(app, "database").text == "\u2013 Database"
        assert nav(app, "prerequisites").text == "✓ Prerequisites"

    run(again, resume)


def test_start_over_resets_progress(project: Path) -> None:
    first = open_session(project)
    first.mark_done("prerequisites")
    first.mark_skipped("database", "later")

    async def script(app: WizardApp, pilot: Pilot[int]) -> None:
        assert isinstance(app.screen, ResumeModal)
        await pilot.press("s")  # Start over: it asks first, Cancel focused
        await pilot.pause()
        assert isinstance(app.screen, ConfirmModal)
        assert app.focused is not None and app.focused.id == "no"
        app.screen.query_one("#yes", Button).press()
        await settle(pilot)
        assert page(app) == "prerequisites"
        assert nav(app, "database").text == "· Database"

    session = open_session(project)
    run(session, script)
    assert not session.has_progress()


def test_dry_run_ends_at_the_review_having_written_nothing(project: Path, home: Path) -> None:
    session = preskip(open_session(project, dry_run=True))

    async def script(app: WizardApp, pilot: Pilot[int]) -> None:
        assert app.wizard is not None
        assert "DRY RUN" in str(app.wizard.query_one("#dry-run-banner").render())
        await walk_to_review(app, pilot)
        plan = "\n".join(str(w.render()) for w in app.screen.query("#plan Static"))
        assert "NEXTAUTH_URL" in plan and "add" in plan
        assert "Finish" in str(app.screen.query_one("#btn-next").render())
        await pilot.press("ctrl+n")
        await pilot.pause()

    app = run(session, script, dry_run=True)
    assert app.return_value == 0
    assert files_under(project) == {"package.json"}
    assert files_under(home) == set()


def test_review_confirm_apply_and_done(seeded: Path) -> None:
    session = preskip(open_session(seeded))

    async def script(app: WizardApp, pilot: Pilot[int]) -> None:
        await walk_to_review(app, pilot)
        plan = "\n".join(str(w.render()) for w in app.screen.query("#plan Static"))
        assert "NEXTAUTH_URL" in plan
        assert NEXTAUTH_SECRET not in plan  # masked: "•••• (64 chars)"
        await pilot.press("ctrl+n")
        await pilot.pause()
        await pilot.press("enter")  # confirm: Apply
        await settle(pilot)
        assert page(app) == "apply"
        rows = str(app.screen.query_one("#apply-env-file").render())
        assert "✓ Env file" in rows
        await pilot.press("ctrl+n")
        await settle(pilot)
        assert page(app) == "done"
        assert nav(app, "apply").text == "✓ Apply"

    run(session, script)
    text = (seeded / ".env.production").read_text()
    assert f"NEXTAUTH_URL={URL}" in text and f"JWT_SECRET={JWT_SECRET}" in text
    assert (seeded / ".env.production").stat().st_mode & 0o777 == 0o600
    assert session.status("env-file") == "done"


def test_apply_failure_shows_the_message_and_retries(
    seeded: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    session = ready_to_apply(seeded)
    real_apply = session.apply
    attempts: list[list[str]] = []

    async def flaky(step_ids: Any = None, **kw: Any) -> Any:
        attempts.append(list(step_ids))
        if len(attempts) == 1:
            from wizard.engine import RunResult

            kw["on_step"]("env-file", "failed", "Env file: disk full — free some space")
            return RunResult(failures={"env-file": "Env file: disk full — free some space"})
        return await real_apply(step_ids, **kw)

    monkeypatch.setattr(session, "apply", flaky)

    async def script(app: WizardApp, pilot: Pilot[int]) -> None:
        await to_review(app, pilot)
        await pilot.press("ctrl+n", "enter")
        await settle(pilot)
        assert "disk full" in str(app.screen.query_one("#apply-env-file").render())
        assert app.screen.query_one("#btn-check").display  # Retry
        assert app.exit_code == 1
        await pilot.press("ctrl+t")
        await settle(pilot)
        assert "✓ Env file" in str(app.screen.query_one("#apply-env-file").render())
        assert app.exit_code == 0

    run(session, script)
    assert len(attempts) == 2
    assert (seeded / ".env.production").is_file()


class _Site(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = b'{"status":"ok"}'
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_POST = do_GET

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def site() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Site)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_done_verifies_the_site_on_demand(project: Path, site: str) -> None:
    session = open_session(project)
    session.set_value("NEXTAUTH_URL", site)

    async def script(app: WizardApp, pilot: Pilot[int]) -> None:
        assert app.wizard is not None
        await app.wizard.goto("done")
        await pilot.press("ctrl+t")
        await settle(pilot)
        results = str(app.screen.query_one("#verify-results").render())
        assert "Health endpoint" in results
        status = str(app.screen.query_one("#check-result").render())
        assert "127.0.0.1" in status

    run(session, script)


def test_help_and_stray_keys_never_crash(project: Path) -> None:
    async def script(app: WizardApp, pilot: Pilot[int]) -> None:
        app.set_focus(None)
        await pilot.press("question_mark")
        await pilot.pause()
        assert type(app.screen).__name__ == "HelpModal"
        await pilot.press("escape")
        await pilot.pause()
        for key in ("f2", "ctrl+x", "ctrl+g", "ctrl+r", "ctrl+t", "pageup", "end", "escape", "tab"):
            await pilot.press(key)
        await pilot.press("f1", "escape")
        await pilot.pause()
        assert app.is_running
        assert page(app) == "prerequisites"

    run(open_session(project), script)


def test_secrets_are_masked_revealable_and_generated(seeded: Path) -> None:
    session = preskip(open_session(seeded), *SERVICE_STEPS)
    session.mark_done("prerequisites")

    async def script(app: WizardApp, pilot: Pilot[int]) -> None:
        await pilot.press("enter")  # resume: the first step still to do
        await settle(pilot)
        assert page(app) == "secrets"
        field = field_input(app, "NEXTAUTH_SECRET")
        assert field.password and field.value == NEXTAUTH_SECRET  # loaded from the env file
        visible = NEXTAUTH_SECRET[:24]  # the field is narrower than the value
        assert visible not in app.export_screenshot()
        field.focus()
        await pilot.press("ctrl+r")
        await pilot.pause()
        assert not field.password
        assert visible in app.export_screenshot()  # shown on request only
        await pilot.press("ctrl+r", "ctrl+g")
        await pilot.pause()
        assert field.password
        assert len(field.value) == 64 and field.value != NEXTAUTH_SECRET

    run(session, script)
    new = session.value("NEXTAUTH_SECRET")
    assert new is not None and new != NEXTAUTH_SECRET and len(new) == 64


# -- the Supabase project picker (Database step) ----------------------------------------------

SUPABASE_TOKEN = "sbp_" + "e" * 40
PROJECTS = [
    FakeProject("abcdefghijklmnopqrst", "dream-pixel", region="eu-west-2"),
    FakeProject("zyxwvutsrqponmlkjihg", "other"),
]


def supabase_session(project: Path, api: str) -> Session:
    session = Session.open(project, env={"SUPABASE_API_URL": api})
    session.set_value("NEXTAUTH_URL", URL)
    session.mark_done("prerequisites")
    return session


def notifications(app: WizardApp) -> list[str]:
    """Every notification the app shows from now on (recorded, and still shown)."""
    seen: list[str] = []
    shown = app.notify

    def record(message: str, **kw: Any) -> None:
        seen.append(message)
        shown(message, **kw)

    app.notify = record  # type: ignore[method-assign]
    return seen


def offers_load(app: WizardApp) -> bool:
    binding = app.screen.active_bindings.get("ctrl+l")
    return binding is not None and binding.enabled


def test_supabase_token_lists_projects_to_pick_and_url_is_built(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with FakeSupabase(SUPABASE_TOKEN, PROJECTS) as fake:
        session = supabase_session(project, fake.url)
        checked: list[str] = []

        async def passes(step_id: str) -> StepReport:
            checked.append(step_id)  # the real check would reach the pooler's host
            return StepReport()

        monkeypatch.setattr(session, "check_step", passes)

        async def script(app: WizardApp, pilot: Pilot[int]) -> None:
            await pilot.press("enter")  # resume at the Database step
            await settle(pilot)
            assert page(app) == "database"
            assert offers_load(app)
            token = field_input(app, "SUPABASE_ACCESS_TOKEN")
            token.focus()
            token.value = SUPABASE_TOKEN
            seen = notifications(app)
            await pilot.press("ctrl+l")
            await settle(pilot)
            picker = app.screen.query_one("#field-supabase_project", Select)
            assert row(app, "supabase_project").options == [
                ("abcdefghijklmnopqrst — dream-pixel (eu-west-2)", "abcdefghijklmnopqrst"),
                ("zyxwvutsrqponmlkjihg — other (us-east-1)", "zyxwvutsrqponmlkjihg"),
            ]
            assert any("2 projects" in n for n in seen)
            assert all(SUPABASE_TOKEN not in n for n in seen)
            picker.value = "zyxwvutsrqponmlkjihg"
            await settle(pilot)
            assert session.choice("supabase_project") == "zyxwvutsrqponmlkjihg"
            field_input(app, "database_password").value = "pw-of-the-database"
            # DATABASE_URL stays empty: the step builds it from the pooler.
            await pilot.press("ctrl+n")
            await settle(pilot)
            assert page(app) == "redis"
            assert not offers_load(app)  # only the Database step offers it

        run(session, script)
        listed = fake.requests("GET", "/v1/projects")
    assert [r.bearer for r in listed] == [SUPABASE_TOKEN]
    assert checked == ["database"]
    assert session.choice("supabase_project") == "zyxwvutsrqponmlkjihg"
    assert session.value("DATABASE_URL") is None
    assert session.value("database_password") == "pw-of-the-database"


def test_supabase_single_project_is_filled_in(project: Path) -> None:
    with FakeSupabase(SUPABASE_TOKEN, PROJECTS[:1]) as fake:
        session = supabase_session(project, fake.url)

        async def script(app: WizardApp, pilot: Pilot[int]) -> None:
            await pilot.press("enter")
            await settle(pilot)
            field_input(app, "SUPABASE_ACCESS_TOKEN").value = SUPABASE_TOKEN
            assert app.wizard is not None and isinstance(app.wizard.pane, StepPane)
            app.wizard.pane.action_load_projects()
            await settle(pilot)
            assert field_input(app, "supabase_project").value == "abcdefghijklmnopqrst"

        run(session, script)


def test_supabase_bad_token_notifies_and_the_app_lives_on(project: Path) -> None:
    with FakeSupabase(SUPABASE_TOKEN, PROJECTS) as fake:
        session = supabase_session(project, fake.url)
        wrong = "sbp_" + "0" * 40

        async def script(app: WizardApp, pilot: Pilot[int]) -> None:
            await pilot.press("enter")
            await settle(pilot)
            token = field_input(app, "SUPABASE_ACCESS_TOKEN")
            token.focus()
            seen = notifications(app)
            await pilot.press("ctrl+l")  # no token yet: says where to get one
            await settle(pilot)
            assert any("Supabase" in n and "access token" in n for n in seen)
            token.value = wrong
            await pilot.press("ctrl+l")
            await settle(pilot)
            failure = seen[-1]
            assert failure.startswith("Supabase (SUPABASE_ACCESS_TOKEN)")
            assert "supabase.com/dashboard/account/tokens" in failure
            assert wrong not in failure
            field_input(app, "supabase_project")  # still typed by hand
            assert app.is_running and page(app) == "database"
            await pilot.press("ctrl+s")  # and the keys still work
            await pilot.pause()
            assert isinstance(app.screen, SkipModal)

        run(session, script)
        assert len(fake.requests("GET", "/v1/projects")) == 1


# -- a bug never prints a traceback ---------------------------------------------------------


def test_a_bug_ends_the_app_with_one_line_and_progress_saved(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    session = open_session(project)

    def broken(self: StepPane) -> None:
        raise RuntimeError("secret=hunter2 in a local variable")

    monkeypatch.setattr(StepPane, "action_next", broken)

    async def script(app: WizardApp, pilot: Pilot[int]) -> None:
        field_input(app, "NEXTAUTH_URL").value = URL
        await pilot.press("ctrl+n")
        await pilot.pause()

    with pytest.raises(RuntimeError):  # Pilot hands the bug to the test, as it should
        run(session, script)
    app = WizardApp(session)  # the same handler on a fresh app, outside Pilot
    app._handle_exception(RuntimeError("secret=hunter2"))
    assert app.crash is not None and "RuntimeError" in app.crash
    assert "hunter2" not in app.crash and "DREAM_PIXEL_DEBUG=1" in app.crash
    assert app._exit_renderables == []  # Textual's traceback is never printed
    assert app.return_code == 1
    # What was typed on the page was kept before leaving.
    assert open_session(project).value("NEXTAUTH_URL") == URL


# -- no dead ends, Enter moves on, errors stay readable ------------------------------------


def test_enter_moves_to_the_next_field_and_from_the_last_one_on(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    session = preskip(open_session(project), "database")
    session.set_value("NEXTAUTH_URL", URL)
    session.mark_done("prerequisites")

    async def passes(step_id: str) -> StepReport:
        return StepReport()

    monkeypatch.setattr(session, "check_step", passes)

    async def script(app: WizardApp, pilot: Pilot[int]) -> None:
        await pilot.press("enter")  # resume at Redis
        await settle(pilot)
        assert app.focused is field_input(app, "UPSTASH_REDIS_REST_URL")
        await pilot.press(*"https://eu1-x.upstash.io", "enter")
        assert app.focused is field_input(app, "UPSTASH_REDIS_REST_TOKEN")
        await pilot.press(*TOKEN, "enter")  # the last field: Next
        await settle(pilot)
        assert page(app) == "storage"

    run(session, script)
    assert session.value("UPSTASH_REDIS_REST_TOKEN") == TOKEN


def test_an_error_clears_as_soon_as_its_value_changes(project: Path) -> None:
    async def script(app: WizardApp, pilot: Pilot[int]) -> None:
        await pilot.press(*"not-a-url", "tab")
        await pilot.pause()
        assert row(app, "NEXTAUTH_URL").has_error
        field_input(app, "NEXTAUTH_URL").focus()
        await pilot.press("x")
        await pilot.pause()
        assert not row(app, "NEXTAUTH_URL").has_error

    run(open_session(project), script)


def test_continue_anyway_keeps_the_cross_and_the_message_stays_reachable(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from screens.modals import ProblemsModal

    session = preskip(open_session(project), "database")
    session.set_value("NEXTAUTH_URL", URL)
    session.mark_done("prerequisites")
    long = "cannot connect (connection refused) " + "and a long explanation " * 8 + "END"

    async def refused(step_id: str) -> StepReport:
        raise NetworkError("Upstash", long, key="UPSTASH_REDIS_REST_URL")

    monkeypatch.setattr(session, "check_step", refused)

    async def script(app: WizardApp, pilot: Pilot[int]) -> None:
        await pilot.press("enter")
        await settle(pilot)
        field_input(app, "UPSTASH_REDIS_REST_URL").value = "https://eu1-x.upstash.io"
        field_input(app, "UPSTASH_REDIS_REST_TOKEN").value = TOKEN
        await pilot.press("ctrl+t")
        await settle(pilot)
        # The whole message, wrapped, in the page (the status bar has one line).
        assert str(app.screen.query_one("#check-error").render()).endswith("END")
        await pilot.press("ctrl+n")
        await settle(pilot)
        assert isinstance(app.screen, CheckFailedModal)
        await pilot.press("tab", "enter")  # Continue anyway
        await settle(pilot)
        assert page(app) == "storage"
        assert nav(app, "redis").text == "✗ Redis"
        await pilot.press("ctrl+e")  # the problems list keeps it
        await pilot.pause()
        assert isinstance(app.screen, ProblemsModal)
        assert any(message.endswith("END") for _, message in app.screen.entries)
        await pilot.press("escape")
        await pilot.pause()
        assert page(app) == "storage" and not isinstance(app.screen, ProblemsModal)

    run(session, script)


def test_offline_one_move_on_the_review_skips_what_failed_and_finishes_the_rest(
    seeded: Path,
) -> None:
    session = open_session(seeded)
    session.set_value("NEXTAUTH_URL", URL)
    session.mark_done("prerequisites")

    async def script(app: WizardApp, pilot: Pilot[int]) -> None:
        await to_review(app, pilot)
        assert page(app) == "review"
        review = app.wizard.pane if app.wizard else None
        assert review is not None
        assert "database" in review.blocking_steps and "vercel" in review.blocking_steps
        assert "ctrl+s" in str(app.screen.query_one(".way-out").render())
        first = app.focused  # the first line that blocks: Enter opens its step
        assert first is not None and first.has_class("page-link")
        await pilot.press("ctrl+s")  # skip every step the plan could not get past
        await settle(pilot)
        assert review.blocking_steps == {}
        assert nav(app, "database").text.startswith("\u2013")
        await pilot.press("ctrl+n")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmModal)
        assert ".env.production" in app.screen.message
        assert "Vercel" not in app.screen.message  # only targets that change
        await pilot.press("enter")
        await settle(pilot)
        assert page(app) == "apply"

    run(session, script)
    assert (seeded / ".env.production").read_text().count("NEXTAUTH_URL=") == 1
    assert session.status("env-file") == "done"
    assert session.skip_reason(
        "database",
    ).startswith("review: ")  # type: ignore[union-attr]


def test_help_lists_every_binding(project: Path) -> None:
    from screens.help import KEYS
    from screens.walk import WizardScreen

    listed = " ".join(key for key, _ in KEYS)
    for cls in (WizardApp, WizardScreen, StepPane):
        for binding in cls.BINDINGS:
            assert isinstance(binding, Binding)
            keys = binding.key.split(",")
            if binding.action == "help" and keys == ["question_mark"]:
                continue  # `?` is described in f1's line
            assert any(k in listed for k in keys), binding


def test_the_step_list_takes_the_focus_and_enter_or_a_digit_opens_a_step(project: Path) -> None:
    async def script(app: WizardApp, pilot: Pilot[int]) -> None:
        await settle(pilot)
        assert "Step 1 of 17" in app.sub_title
        await pilot.press("f2")
        sidebar = app.screen.query_one(Sidebar)
        assert app.focused is sidebar
        await pilot.press("down", "down", "enter")  # Redis
        await settle(pilot)
        assert page(app) == "redis"
        assert "Step 3 of 17" in app.sub_title
        await pilot.press("shift+tab", "shift+tab")  # past the page (it scrolls) to the list
        assert app.focused is sidebar
        await pilot.press("8")
        await settle(pilot)
        assert page(app) == "resend"

    run(open_session(project), script)


def test_done_lists_skipped_steps_with_reasons_and_how_to_take_them_up(seeded: Path) -> None:
    session = ready_to_apply(seeded)

    async def script(app: WizardApp, pilot: Pilot[int]) -> None:
        await pilot.press("escape")  # resume
        assert app.wizard is not None
        await app.wizard.goto("done")
        await settle(pilot)
        left = str(app.screen.query_one("#left-over").render())
        assert "Database skipped: not in this test" in left
        assert "apply --only database" in left

    run(session, script)


def test_pages_follow_the_provider_chosen(project: Path) -> None:
    session = preskip(open_session(project), "redis")
    session.set_value("NEXTAUTH_URL", URL)
    session.mark_done("prerequisites")

    async def script(app: WizardApp, pilot: Pilot[int]) -> None:
        await pilot.press("enter")  # resume at the Database step
        await settle(pilot)
        app.screen.query_one("#field-database_provider", Select).value = "neon"
        await settle(pilot)
        guide = str(app.screen.query_one("#guide").render())
        assert "console.neon.tech" in guide and "supabase" not in guide.lower()
        help_text = str(row(app, "DATABASE_URL").query_one(".field-help").render())
        assert "-pooler" in help_text and "neon.tech" in help_text
        assert app.wizard is not None
        await app.wizard.goto("storage")
        await settle(pilot)
        app.screen.query_one("#field-storage", Select).value = "r2"
        await settle(pilot)
        guide = str(app.screen.query_one("#guide").render())
        assert "r2/api-tokens" in guide
        assert "s3.console.aws.amazon.com" not in guide
        assert "cannot make R2 keys" in guide
        assert field_input(app, "AWS_REGION").value == "auto"
        key_help = str(row(app, "AWS_ACCESS_KEY_ID").query_one(".field-help").render())
        assert "R2 API token" in key_help

    run(session, script)


def test_aws_admin_keys_typed_on_the_storage_page_reach_boto3(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import logging

    from moto.server import ThreadedMotoServer

    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    admin_secret = "typed-ADMIN-secret-Zq7Wx3Ec9Rv5Tb1Yn6"
    try:
        env = {"AWS_ENDPOINT_URL": f"http://{host}:{port}", "AWS_MAX_ATTEMPTS": "1"}
        session = Session.open(project, env=env)
        session.set_value("NEXTAUTH_URL", URL)
        session.mark_done("prerequisites")
        for step_id in ("database", "redis"):
            session.mark_skipped(step_id, "not in this test")

        async def script(app: WizardApp, pilot: Pilot[int]) -> None:
            await pilot.press("enter")  # resume at Storage
            await settle(pilot)
            assert page(app) == "storage"
            await pilot.press("ctrl+t")  # no admin credentials anywhere: says how to give them
            await settle(pilot)
            assert "no credentials" in str(app.screen.query_one("#check-error").render())
            field_input(app, "aws_admin_access_key_id").value = "AKIAE2EADMIN00000001"
            field_input(app, "aws_admin_secret_access_key").value = admin_secret
            assert field_input(app, "aws_admin_secret_access_key").password  # masked
            await pilot.press("ctrl+t")
            await settle(pilot)
            assert "passed" in str(app.screen.query_one("#check-result").render())

        run(session, script)
    finally:
        server.stop()
    state = (project / ".dream-pixel" / "state-production.json").read_text()
    assert admin_secret not in state and "AKIAE2EADMIN00000001" not in state


def test_ctrl_q_keeps_typed_values_and_the_summary_names_the_secrets_not_kept(
    project: Path,
) -> None:
    from wizard.summary import exit_summary

    session = preskip(open_session(project), "database")
    session.set_value("NEXTAUTH_URL", URL)
    session.mark_done("prerequisites")

    async def script(app: WizardApp, pilot: Pilot[int]) -> None:
        await pilot.press("enter")  # resume at Redis
        await settle(pilot)
        field_input(app, "UPSTASH_REDIS_REST_URL").value = "https://eu1-typed.upstash.io"
        field_input(app, "UPSTASH_REDIS_REST_TOKEN").value = TOKEN
        await pilot.press("ctrl+q")  # typed, never confirmed with Next
        await pilot.pause()

    app = run(session, script)
    text = exit_summary(session, app.exit_facts)
    assert TOKEN not in text
    assert "Not kept (type them again next time): UPSTASH_REDIS_REST_TOKEN" in text
    assert "resumes at Redis" in text
    # The public value survives the quit; the next start shows it.
    assert open_session(project).value("UPSTASH_REDIS_REST_URL") == "https://eu1-typed.upstash.io"


def test_the_load_projects_button_sits_beside_the_token(project: Path) -> None:
    with FakeSupabase(SUPABASE_TOKEN, PROJECTS) as fake:
        session = supabase_session(project, fake.url)

        async def script(app: WizardApp, pilot: Pilot[int]) -> None:
            await pilot.press("enter")
            await settle(pilot)
            field_input(app, "SUPABASE_ACCESS_TOKEN").value = SUPABASE_TOKEN
            button = row(app, "SUPABASE_ACCESS_TOKEN").query_one("#act-SUPABASE_ACCESS_TOKEN")
            assert button.region.y == field_input(app, "SUPABASE_ACCESS_TOKEN").region.y
            assert isinstance(button, Button)
            button.press()
            await settle(pilot)
            assert len(row(app, "supabase_project").options) == 2

        run(session, script)
