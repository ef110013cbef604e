"""Values are cleaned once, in the core, and refused for the true reason.

Whitespace and a pasted newline around a URL, key, id or token never reach a file or a
service, from any source (--set, --env-file, the environment, a prompt, the TUI's
``validate_value``/``set_value``); values of other kinds stay exact. Refusals name the
real problem and never repeat a secret.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from prompt_toolkit.application import create_app_session
from prompt_toolkit.input import create_pipe_input
from prompt_toolkit.output import DummyOutput

from wizard import plain
from wizard.cli import main
from wizard.engine import Session
from wizard.envfile import load_env_file

URL = "https://dreampixel.example"
HEX40 = "0123456789abcdef0123456789abcdef01234567"
HEX64 = "0123456789abcdef" * 4


@pytest.fixture
def project(tmp_path: Path) -> Path:
    p = tmp_path / "app"
    p.mkdir()
    (p / "package.json").write_text("{}\n")
    return p


def cli(project: Path, *args: str) -> int:
    return main(["--project-dir", str(project), *args])


def written(project: Path) -> dict[str, str]:
    return load_env_file(project / ".env.production").values()


# -- cleaned, from every source ------------------------------------------------------------


def test_set_url_with_spaces_and_a_pasted_newline_is_written_trimmed(project: Path) -> None:
    code = cli(
        project,
        "apply",
        "--yes",
        "--only",
        "secrets,env-file",
        "--set",
        f"NEXTAUTH_URL=  {URL}  \n",
        "--set",
        "CUSTOM_NOTE=  kept as typed  ",
    )
    assert code == 0
    values = written(project)
    assert values["NEXTAUTH_URL"] == URL
    assert values["CUSTOM_NOTE"] == "  kept as typed  "  # not a URL, key, id or token


def test_env_file_values_are_exact_except_urls_keys_ids_and_tokens(project: Path) -> None:
    given = project / "given.env"
    given.write_text(
        f'UPSTASH_REDIS_REST_URL="  https://eu1-sure-fox.upstash.io \n"\n'
        f'STRIPE_SECRET_KEY=" sk_live_{"a1B2c3D4" * 3} "\n'
        'JWT_SECRET="  a secret of my own with spaces, 32+ characters  "\n'
        'GREETING="  hello  "\n'
    )
    code = cli(
        project,
        "apply",
        "--yes",
        "--only",
        "secrets,env-file",
        "--env-file",
        str(given),
        "--set",
        f"NEXTAUTH_URL={URL}",
    )
    assert code == 0
    values = written(project)
    assert values["UPSTASH_REDIS_REST_URL"] == "https://eu1-sure-fox.upstash.io"
    assert values["STRIPE_SECRET_KEY"] == "sk_live_" + "a1B2c3D4" * 3
    assert values["JWT_SECRET"] == "  a secret of my own with spaces, 32+ characters  "
    assert values["GREETING"] == "  hello  "


def test_operator_values_from_the_environment_are_cleaned(project: Path) -> None:
    token = "ghp_" + "A1b2C3d4E5" * 4
    session = Session.open(
        project,
        env={"GITHUB_TOKEN": token + "\n", "GITHUB_REPOSITORY": "  acme/dream-pixel\r\n"},
    )
    assert session.value("GITHUB_TOKEN") == token
    assert session.value("GITHUB_REPOSITORY") == "acme/dream-pixel"
    assert not [p for p in session.problems(["github"]) if p.startswith("GITHUB_")]


def test_front_ends_validate_and_keep_the_cleaned_value(project: Path) -> None:
    """The TUI and --plain hand what was typed to validate_value, then set_value."""
    session = Session.open(project, env={})
    typed = f"\t{URL}  \n"
    assert session.validate_value("NEXTAUTH_URL", typed) is None
    session.set_value("NEXTAUTH_URL", typed)
    assert session.value("NEXTAUTH_URL") == URL
    assert session.validate_value("NEXTAUTH_URL", "   ") == "is required"
    # A password is exact: its spaces may be real.
    session.set_value("database_password", " pass word ")
    assert session.value("database_password") == " pass word "


class _Tty:
    def isatty(self) -> bool:
        return True


def test_plain_prompt_keeps_the_trimmed_url(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    session = Session.open(project, env={}, dry_run=True)
    monkeypatch.setattr(sys, "stdin", _Tty())
    keys = ["\r", f"   {URL}   ", "\r", "\x03"]  # checklist, the URL, then Ctrl-C
    with create_pipe_input() as pipe:
        pipe.send_text("".join(keys))
        with create_app_session(input=pipe, output=DummyOutput()):
            code = plain.run_plain(session, dry_run=True)
    assert code == 130
    assert session.value("NEXTAUTH_URL") == URL


# -- refused for the true reason -----------------------------------------------------------


@pytest.mark.parametrize(
    ("password", "encoded"),
    [("pa#ss", "%23"), ("p@ss", "%40"), ("pa/ss", "%2F"), ("pa?ss", "%3F")],
)
def test_reserved_character_in_the_database_password_says_how_to_encode_it(
    project: Path, capsys: pytest.CaptureFixture[str], password: str, encoded: str
) -> None:
    secret = f"Xq9{password}Zr7"
    url = f"postgresql://postgres:{secret}@db.abc.supabase.co:5432/postgres?sslmode=require"
    code = cli(project, "plan", "--only", "database", "--set", f"DATABASE_URL={url}")
    err = capsys.readouterr().err
    assert code == 1
    assert f"percent-encode it as {encoded}" in err
    assert secret not in err and "Xq9" not in err


def test_encoded_password_and_at_sign_in_the_query_are_fine(project: Path) -> None:
    session = Session.open(project, env={})
    ok = "postgresql://postgres:pa%23ss%40x@db.abc.supabase.co:5432/postgres?sslmode=require"
    assert session.validate_value("DATABASE_URL", ok) is None
    query_at = ok + "&application_name=me@ci"
    assert session.validate_value("DATABASE_URL", query_at) is None


def test_redis_tcp_url_in_the_rest_url_field_points_at_the_rest_url(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    tcp = "rediss://default:AYx7SuperSecretPassw0rd@eu1-sure-fox-12345.upstash.io:6379"
    code = cli(
        project,
        "plan",
        "--only",
        "redis",
        "--set",
        f"UPSTASH_REDIS_REST_URL={tcp}",
        "--set",
        "UPSTASH_REDIS_REST_TOKEN=AX" + "b64Token0" * 5,
    )
    err = capsys.readouterr().err
    assert code == 1
    assert "is the TCP URL (rediss://…)" in err
    assert "use the REST URL https://eu1-sure-fox-12345.upstash.io" in err
    assert "SuperSecret" not in err


@pytest.mark.parametrize(
    "given",
    [
        "https://github.com/acme/dream-pixel",
        "https://github.com/acme/dream-pixel.git",
        "https://github.com/acme/dream-pixel/",
        "https://github.com/acme/dream-pixel/tree/main",
        "git@github.com:acme/dream-pixel.git",
        "ssh://git@github.com/acme/dream-pixel.git",
        "acme/dream-pixel.git",
        " acme/dream-pixel \n",
    ],
)
def test_repository_urls_are_taken_as_owner_name(project: Path, given: str) -> None:
    from_env = Session.open(project, env={"GITHUB_REPOSITORY": given})
    assert from_env.value("GITHUB_REPOSITORY") == "acme/dream-pixel"
    assert from_env.validate_value("GITHUB_REPOSITORY", given) is None
    typed = Session.open(project, env={})
    typed.set_value("GITHUB_REPOSITORY", given)
    assert typed.value("GITHUB_REPOSITORY") == "acme/dream-pixel"


# Real shapes (vendor documentation, 2026) and junk, per field.
ACCEPTED = [
    ("GITHUB_TOKEN", "ghp_" + "A1b2C3d4E5f6" * 3),
    ("GITHUB_TOKEN", "github_pat_11ABCDEFG0123456789abc_" + "x" * 59),
    ("GITHUB_TOKEN", "gho_" + "Z9" * 18),
    ("GITHUB_TOKEN", "ghs_" + "Z9" * 18),
    ("GITHUB_TOKEN", HEX40),  # before 2021
    ("VERCEL_TOKEN", "A1b2C3d4E5f6G7h8I9j0K1l2"),  # 24 letters and digits
    ("VERCEL_TOKEN", "vcp_" + "A1b2C3d4E5" * 4),
    ("CLOUDFLARE_API_TOKEN", "Obo4Vt6YTLtElc3U2BVwIm4a2UNW8Z6v6cL-_MwD"),
    ("CLOUDFLARE_API_TOKEN", "cfut_" + "Obo4Vt6YTLtElc3U2BVwIm4a2UNW8Z6v6cLQcMwD" + "a1b2c3"),
    ("CLOUDFLARE_ACCOUNT_ID", "0123456789abcdef0123456789ABCDEF"),
    ("SUPABASE_ACCESS_TOKEN", "sbp_" + HEX40),
    ("SENTRY_AUTH_TOKEN", "sntryu_" + HEX64),
    ("SENTRY_AUTH_TOKEN", HEX64),
    (
        "SENTRY_AUTH_TOKEN",
        "sntrys_eyJpYXQiOjE3NjIxODIyMjQuNjg2NDk2LCJ1cmwiOiJodHRwczovL3NlbnRyeS5pbyJ9"
        "_kkYnedMa5ECh7CcxJkoJ9pm6LfW8W88XqoPCwgUAx20",
    ),
    ("RESEND_API_KEY", "re_123abc45_AbCdEfGhIjKlMnOpQrStUvWx"),
    ("UPSTASH_REDIS_REST_TOKEN", "AXlzASQgNjY3ZS00ZDRiLWJmYzktNDA0YjE3ZTk3MWY1YzRhOGQ="),
    ("UPSTASH_REDIS_REST_TOKEN", "2553feg6a2d9842h2a0gcdb5f8efe9934"),  # Upstash's docs
    ("STRIPE_SECRET_KEY", "sk_live_51H" + "a1B2c3D4e5" * 9),
]
REFUSED = [
    ("GITHUB_TOKEN", "ghp_short", "is not a GitHub token"),
    ("GITHUB_TOKEN", "ghr_" + "Z9" * 38, "refresh token"),
    ("GITHUB_TOKEN", "my github token", "without spaces"),
    ("GITHUB_TOKEN", "vcp_" + "A1b2C3d4E5" * 4, "is a Vercel token"),
    ("VERCEL_TOKEN", "abc123", "too short"),
    ("VERCEL_TOKEN", "vcr_" + "A1b2C3d4E5" * 4, "refresh token"),
    ("VERCEL_TOKEN", "ghp_" + "A1b2C3d4E5f6" * 3, "is a GitHub token"),
    ("VERCEL_TOKEN", "tok€n-with-ünïcode-chars-0123", "non-ASCII character (position 4)"),
    ("CLOUDFLARE_API_TOKEN", "cfk_" + "a" * 44, "Global API Key"),
    ("CLOUDFLARE_API_TOKEN", "0123456789abcdef0123456789abcdef01234", "Global API Key"),
    ("CLOUDFLARE_API_TOKEN", "cf-token-too-short", "is not a Cloudflare API token"),
    ("CLOUDFLARE_ACCOUNT_ID", "abc123", "32 hex digits"),
    ("CLOUDFLARE_ACCOUNT_ID", "my-account", "32 hex digits"),
    ("SUPABASE_ACCESS_TOKEN", "sb_secret_" + "a" * 30, "project API key"),
    ("SUPABASE_ACCESS_TOKEN", "sbp_tooshort", "sbp_ and 40 characters"),
    ("SENTRY_AUTH_TOKEN", "sntryu_wrong", "is not a Sentry auth token"),
    ("SENTRY_AUTH_TOKEN", "sbp_" + HEX40, "is a Supabase access token"),
    ("RESEND_API_KEY", "re_x", "must be a Resend API key"),
    ("RESEND_API_KEY", "sk_live_" + "a1B2c3D4" * 3, "is a Stripe secret key"),
    ("UPSTASH_REDIS_REST_TOKEN", "rediss://default:pw@eu1-x.upstash.io:6379", "is a URL"),
    ("UPSTASH_REDIS_REST_TOKEN", "AXab12", "too short"),
    ("STRIPE_SECRET_KEY", "sk_live_51H-a1B2c3D4e5f6g7h8i9", "holds characters"),
]


@pytest.mark.parametrize(("key", "value"), ACCEPTED)
def test_real_token_shapes_are_accepted(project: Path, key: str, value: str) -> None:
    session = Session.open(project, env={})
    assert session.validate_value(key, value) is None
    assert session.validate_value(key, f"  {value}\n") is None  # pasted


@pytest.mark.parametrize(("key", "value", "reason"), REFUSED)
def test_junk_is_refused_for_the_true_reason(
    project: Path, key: str, value: str, reason: str
) -> None:
    session = Session.open(project, env={})
    message = session.validate_value(key, value)
    assert message is not None and reason in message
    assert value not in message
