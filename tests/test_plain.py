"""The --plain line mode, driven through real questionary prompts on a prompt_toolkit pipe.

Keys are typed ahead into the pipe; prompt_toolkit hands what one prompt leaves over to
the next. Nothing here reaches a service: the service steps are skipped, or checked
against a closed loopback port.
"""

from __future__ import annotations

import functools
import io
import json
import socket
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from prompt_toolkit.application import create_app_session
from prompt_toolkit.input import create_pipe_input
from prompt_toolkit.output import DummyOutput

from wizard import plain
from wizard.engine import Session

DOWN, ENTER, BACKSPACE, CTRL_C = "\x1b[B", "\r", "\x7f", "\x03"
URL = "https://dreampixel.test"
SERVICE_STEPS = ("database", "redis", "storage", "cloudflare", "sentry", "stripe", "resend")


class _Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.fixture
def project(tmp_path: Path) -> Path:
    p = tmp_path / "app"
    p.mkdir()
    (p / "package.json").write_text("{}\n")
    return p


def open_session(project: Path, *, dry_run: bool = False) -> Session:
    return Session.open(project, env={}, dry_run=dry_run)


def drive(session: Session, keys: list[str], monkeypatch: pytest.MonkeyPatch) -> int:
    monkeypatch.setattr(sys, "stdin", _Tty())
    with create_pipe_input() as pipe:
        pipe.send_text("".join(keys))
        with create_app_session(input=pipe, output=DummyOutput()):
            return plain.run_plain(session, dry_run=session.dry_run)


def skip(reason: str = "later") -> list[str]:
    """At a step's first question: choose "Skip this step", give a reason."""
    return [DOWN, ENTER, reason, ENTER]


def prerequisites(bad_first: bool = True) -> list[str]:
    keys = [ENTER]  # the checklist: nothing ticked
    if bad_first:
        keys += ["not-a-url", ENTER, BACKSPACE * len("not-a-url")]
    return [*keys, URL, ENTER]


def whole_walk() -> list[str]:
    keys = prerequisites()
    for _ in SERVICE_STEPS:
        keys += skip()
    keys += [ENTER, ENTER, ENTER]  # secrets: fill in, keep both generated values
    keys += [ENTER]  # env file: continue
    keys += skip() + skip()  # vercel, github
    keys += skip() + skip() + skip()  # migrate, deploy, domain
    keys += skip()  # monitoring
    keys += skip()  # safeguards
    return keys


def files_under(root: Path) -> set[str]:
    return {str(p.relative_to(root)) for p in root.rglob("*")}


def test_refuses_without_a_terminal_and_lists_the_inputs(
    project: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(sys, "stdin", io.StringIO(""))
    code = plain.run_plain(open_session(project), dry_run=False)
    err = capsys.readouterr().err
    assert code == 1
    assert "needs a terminal (standard input" in err
    assert "dream-pixel-setup apply --yes --set KEY=VALUE" in err
    assert "NEXTAUTH_URL: missing" in err
    assert "DATABASE_URL: missing" in err
    assert "VERCEL_TOKEN" in err  # operator credentials: from the environment
    assert files_under(project) == {"package.json"}


def test_dry_run_walk_validates_and_writes_nothing(
    project: Path, home: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    session = open_session(project, dry_run=True)
    seen: list[tuple[str, str, str | None]] = []
    original = session.validate_value

    def spy(key: str, value: str) -> str | None:
        result = original(key, value)
        seen.append((key, value, result))
        return result

    monkeypatch.setattr(session, "validate_value", spy)
    code = drive(session, whole_walk(), monkeypatch)
    out = capsys.readouterr().out
    assert code == 0
    # The bad URL went through the session's validator and was refused, then fixed.
    assert ("NEXTAUTH_URL", "not-a-url", "must be a URL like https://example.com") in seen
    assert session.value("NEXTAUTH_URL") == URL
    assert "== Review ==" in out and "NEXTAUTH_URL" in out
    assert "Dry run: nothing was written or sent." in out
    assert files_under(project) == {"package.json"}
    assert list(home.rglob("*")) == []


def test_apply_writes_the_env_file(
    project: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    session = open_session(project)
    keys = [*whole_walk(), "y", ENTER]  # apply: yes; the post-deploy check: default no
    code = drive(session, keys, monkeypatch)
    out = capsys.readouterr().out
    assert code == 0, out
    env = project / ".env.production"
    assert f"NEXTAUTH_URL={URL}" in env.read_text()
    assert env.stat().st_mode & 0o777 == 0o600
    assert "✓ Applied." in out
    summary = out.split("✓ Applied.")[1]
    assert "Dream Pixel setup, production: 3 of 17 steps done" in summary
    assert ".env.production" in summary and "Progress:" in summary
    # Secrets never reach the terminal.
    secret = session.value("NEXTAUTH_SECRET")
    assert secret and secret not in out
    assert session.status("env-file") == "done"
    assert session.status("database") == "skipped"


def test_ctrl_c_saves_progress_and_exits_130(
    project: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    session = open_session(project)
    code = drive(
        session, [*prerequisites(bad_first=False), *skip("no db yet"), CTRL_C], monkeypatch
    )
    assert code == 130
    out, err = capsys.readouterr()
    assert "progress is saved" in err
    # The terminal keeps a summary, as the full-screen app leaves one.
    assert "Dream Pixel setup, production: 1 of 17 steps done, 1 skipped" in out
    assert "– Database" in out and "no db yet" in out
    assert "Next: dream-pixel-setup" in out and "resumes at Redis" in out
    state = json.loads((project / ".dream-pixel" / "state-production.json").read_text())
    assert state["steps"]["prerequisites"]["status"] == "done"
    assert state["steps"]["database"]["status"] == "skipped"
    assert state["steps"]["database"]["reason"] == "no db yet"


def test_resume_starts_at_the_first_unfinished_step(
    project: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    first = open_session(project)
    first.mark_done("prerequisites")
    first.mark_skipped("database", "later")
    again = open_session(project)
    code = drive(again, [ENTER, CTRL_C], monkeypatch)  # "Resume", then stop at Redis
    out = capsys.readouterr().out
    assert code == 130
    assert "== Redis ==" in out
    assert "== Database ==" not in out and "== Prerequisites ==" not in out


@pytest.fixture
def closed_port(monkeypatch: pytest.MonkeyPatch) -> Iterator[int]:
    """A loopback port that refuses connections (bound, never listening); the providers
    give up at once instead of backing off."""
    import providers.http

    monkeypatch.setattr(
        providers.http, "RetryPolicy", functools.partial(providers.http.RetryPolicy, attempts=1)
    )
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        yield sock.getsockname()[1]


def test_secrets_use_password_prompts_and_a_failed_check_offers_skip(
    project: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    closed_port: int,
) -> None:
    import questionary

    prompts: list[tuple[str, str]] = []
    for kind in ("text", "password"):
        real = getattr(questionary, kind)

        def spy(
            message: str, *a: object, _real: object = real, _kind: str = kind, **kw: object
        ) -> object:
            prompts.append((_kind, message))
            return _real(message, *a, **kw)  # type: ignore[operator]

        monkeypatch.setattr(questionary, kind, spy)
    session = open_session(project)
    session.mark_done("prerequisites")
    session.mark_skipped("database", "later")
    token = "AX-redis-token-not-to-be-shown"
    keys = [
        ENTER,  # Resume: lands on Redis
        ENTER,  # Fill in
        f"http://127.0.0.1:{closed_port}",
        ENTER,
        token,
        ENTER,
        DOWN,
        DOWN,
        ENTER,  # the check failed: "Skip this step"
        "unreachable",
        ENTER,
        CTRL_C,
    ]
    code = drive(session, keys, monkeypatch)
    out = capsys.readouterr().out
    assert code == 130
    assert ("password", "REST token (UPSTASH_REDIS_REST_TOKEN)") in prompts
    assert ("text", "REST URL (UPSTASH_REDIS_REST_URL)") in prompts
    assert "✗ Upstash" in out
    assert token not in out
    assert session.status("redis") == "skipped"
    assert session.skip_reason("redis") == "unreachable"


def test_importing_plain_loads_no_ui_library() -> None:
    import subprocess

    code = "import sys, wizard.plain; print('questionary' in sys.modules, 'textual' in sys.modules)"
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        cwd=Path(__file__).parent.parent,
    ).stdout
    assert out.strip() == "False False"


def _spy_prompts(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, str, list[str]]]:
    """Every questionary prompt asked: (kind, message, choices)."""
    import questionary

    asked: list[tuple[str, str, list[str]]] = []
    for kind in ("text", "password", "select"):
        real = getattr(questionary, kind)

        def spy(
            message: str, *a: object, _real: object = real, _kind: str = kind, **kw: object
        ) -> object:
            choices = [str(c) for c in kw.get("choices") or []]  # type: ignore[attr-defined]
            asked.append((_kind, message, choices))
            return _real(message, *a, **kw)  # type: ignore[operator]

        monkeypatch.setattr(questionary, kind, spy)
    return asked


def _at(session: Session, step_id: str) -> Session:
    """Progress saved up to ``step_id``: earlier steps done or skipped."""
    for st in session.steps():
        if st.id == step_id:
            break
        if st.id == "prerequisites":
            session.mark_done(st.id)
        else:
            session.mark_skipped(st.id, "later")
    return open_session(session.project_dir)


def test_resume_says_how_far_the_saved_progress_got(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from wizard.catalogue import STEP_IDS

    asked = _spy_prompts(monkeypatch)
    session = _at(open_session(project), "redis")
    assert drive(session, [CTRL_C], monkeypatch) == 130
    assert asked[0][1] == (
        f"Saved progress found (1 of {len(STEP_IDS)} steps done, 1 skipped). What now?"
    )


def test_token_derived_fields_are_asked_only_with_the_token(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    asked = _spy_prompts(monkeypatch)
    session = _at(open_session(project), "database")
    # Resume, Fill in, provider supabase, no access token, then stop at DATABASE_URL.
    assert drive(session, [ENTER, ENTER, ENTER, ENTER, CTRL_C], monkeypatch) == 130
    messages = [m for _, m, _ in asked]
    assert any("(SUPABASE_ACCESS_TOKEN)" in m for m in messages)
    assert any("(DATABASE_URL)" in m for m in messages)
    assert not any("supabase_project" in m or "database_password" in m for m in messages)


def test_keep_current_only_when_there_is_one_and_no_check_claimed(
    project: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    asked = _spy_prompts(monkeypatch)
    session = _at(open_session(project), "secrets")
    # Resume, Fill in, generate both, then stop at the env-file step.
    assert drive(session, [ENTER, ENTER, ENTER, ENTER, CTRL_C], monkeypatch) == 130
    out = capsys.readouterr().out
    choices = {m: c for kind, m, c in asked if kind == "select"}
    assert choices["NextAuth secret (NEXTAUTH_SECRET)"] == ["Generate one", "Enter my own"]
    assert "live check passed" not in out and "checking Secrets" not in out

    (project / ".env.production").write_text("NEXTAUTH_SECRET=" + "ab" * 32 + "\n")
    asked.clear()
    again = open_session(project)
    assert drive(again, [ENTER, ENTER, ENTER, CTRL_C], monkeypatch) == 130
    choices = {m: c for kind, m, c in asked if kind == "select"}
    assert choices["NextAuth secret (NEXTAUTH_SECRET)"][0] == "Keep the current value"


def test_the_keyring_notice_is_said_once(
    project: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    session = open_session(project)
    session.load_keyring_credentials()  # as the CLI does: no keyring in the tests
    keys = [*whole_walk(), "y", ENTER]
    assert drive(session, keys, monkeypatch) == 0
    out = capsys.readouterr().out
    assert out.count("no OS keyring available") == 1
