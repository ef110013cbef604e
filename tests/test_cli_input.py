"""What the command line is given (issue 12, point 13), through the real entry point:
empty step lists, a --set without '=', secrets in argv, non-ASCII tokens."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.fakes.vercel import FakeVercel
from wizard.cli import main
from wizard.engine import Session

SECRET_LOOKING = "sk_live_NOTSHOWNanywhere0123456789"


def run(project: Path, *args: str) -> int:
    return main(["--project-dir", str(project), *args])


def files(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*"))


@pytest.mark.parametrize("option", ["--only", "--skip"])
@pytest.mark.parametrize("text", ["", ",", " , ,", " "])
def test_an_empty_step_list_is_bad_usage(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], option: str, text: str
) -> None:
    for command in ("plan", "apply"):
        assert run(tmp_path, command, "--yes" if command == "apply" else "-v", option, text) == 1
        err = capsys.readouterr().err
        assert len(err.strip().splitlines()) == 1, err
        assert f"{option} names no step" in err and "Traceback" not in err
    assert files(tmp_path) == []


@pytest.mark.parametrize(
    "argument",
    [
        SECRET_LOOKING,  # the value pasted without its name
        f"postgresql://u:{SECRET_LOOKING}@db.example=x",  # '=' inside the value only
        f"{SECRET_LOOKING}-name=value",  # not a variable name either
    ],
)
def test_a_bad_set_never_echoes_what_was_given(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], argument: str
) -> None:
    assert run(tmp_path, "plan", "--set", "NEXTAUTH_URL=https://a.example", "--set", argument) == 1
    err = capsys.readouterr().err
    assert SECRET_LOOKING not in err and SECRET_LOOKING[:12] not in err
    assert "--set (occurrence 2)" in err and len(err.strip().splitlines()) == 1


def test_a_secret_given_with_set_gets_a_warning(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "package.json").write_text("{}\n")  # the app's checkout: no other warning
    secret = "n" * 64
    code = run(
        tmp_path,
        "plan",
        "--only",
        "secrets,env-file",
        "--set",
        f"NEXTAUTH_SECRET={secret}",
        "--set",
        "CUSTOM_THING=unknown-keys-are-secret",
        "--set",
        "NEXTAUTH_URL=https://dreampixel.example",
    )
    err = capsys.readouterr().err
    assert code == 0, err
    [warning] = [line for line in err.splitlines() if line.startswith("warning:")]
    assert "NEXTAUTH_SECRET" in warning and "CUSTOM_THING" in warning
    assert "NEXTAUTH_URL" not in warning  # public: nothing to warn about
    assert "ps" in warning and "--env-file" in warning
    assert secret not in err

    # Public values alone: no warning.
    assert run(tmp_path, "plan", "--only", "env-file", "--set", "NEXTAUTH_URL=https://a.b") == 0
    assert "warning:" not in capsys.readouterr().err


@pytest.mark.parametrize(
    ("variable", "key", "token", "position"),
    [
        ("VERCEL_TOKEN", "VERCEL_TOKEN", "vercel_tokenʼpasted_0123456789", 13),
        ("GH_TOKEN", "GITHUB_TOKEN", "ghp_abc\u00a0def0123456789", 8),
        ("SNYK_TOKEN", "SNYK_TOKEN", "snyk-ｔoken-0123456789", 6),
    ],
)
def test_a_non_ascii_token_is_refused_as_such(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    variable: str,
    key: str,
    token: str,
    position: int,
) -> None:
    with FakeVercel("vercel-token-0123456789") as vercel:
        monkeypatch.setenv("VERCEL_TOKEN", "vercel-token-0123456789")
        monkeypatch.setenv("VERCEL_PROJECT_ID", "dream-pixel")
        monkeypatch.setenv("VERCEL_API_URL", vercel.url)
        monkeypatch.setenv(variable, token)
        code = run(tmp_path, "plan", "--only", "vercel")
        err = capsys.readouterr().err
        assert vercel.requests() == []  # refused before anything is sent
    assert code == 1
    expected = (
        f"error: {key}: contains a non-ASCII character (position {position}) — paste the "
        "token again"
    )
    assert expected in err.splitlines(), err
    assert token not in err and "Traceback" not in err and "codec" not in err

    # Typed into the wizard: the same words, before it is kept.
    session = Session.open(tmp_path, env={}, dry_run=True)
    assert session.validate_value(key, token) == expected.split(": ", 2)[2]


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("RESEND_API_KEY", "re_abc\u2019def0123456789"),
        ("STRIPE_SECRET_KEY", "sk_live_51Hx\u00a0YzAbCdEfGhIjKlMnOp"),
        ("SENTRY_AUTH_TOKEN", "sntryu_\u0430bc0123456789abcdef"),
    ],
)
def test_a_non_ascii_app_key_sent_as_a_credential_is_refused_too(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], key: str, value: str
) -> None:
    """App keys the wizard itself uses to call a service (a Resend, Stripe or Sentry key):
    from --env-file, refused before anything is sent, by position."""
    source = tmp_path.parent / f"{tmp_path.name}-in.env"
    source.write_text(f"{key}='{value}'\n", encoding="utf-8")
    position = next(i for i, c in enumerate(value, 1) if not c.isascii())
    assert run(tmp_path, "plan", "--only", "secrets,env-file", "--env-file", str(source)) == 1
    err = capsys.readouterr().err
    assert f"error: {key}: contains a non-ASCII character (position {position})" in err
    assert value not in err
