"""Reuse what is already there, and say where each operator value came from.

A real git repository in tmp_path, a fake ``gh`` script on PATH, a ``.vercel/project.json``
and a fake HOME with the Vercel CLI's own login file; the CLI run through its entry point.
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
from pathlib import Path

import pytest

from wizard import discover
from wizard.cli import main
from wizard.engine import Session

GH_TOKEN_VALUE = "gho_" + "Zx9Yw8Vu7T" * 4
VERCEL_CLI_TOKEN = "A1b2C3d4E5f6G7h8I9j0K1l2"


@pytest.fixture
def project(tmp_path: Path) -> Path:
    p = tmp_path / "app"
    p.mkdir()
    (p / "package.json").write_text("{}\n")
    return p


def git(project: Path, *args: str) -> None:
    subprocess.run(["git", "-C", str(project), *args], check=True, capture_output=True)


def with_remote(project: Path, url: str) -> Path:
    git(project, "init", "-q")
    git(project, "remote", "add", "origin", url)
    return project


@pytest.fixture
def fake_gh(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A ``gh`` that is logged in: prints its token, records its argv."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    script = bin_dir / "gh"
    script.write_text(
        "#!/bin/sh\n"
        f'printf "%s\\n" "$@" > "{tmp_path}/gh-argv"\n'
        f'env > "{tmp_path}/gh-env"\n'
        'if [ "$1 $2" = "auth token" ]; then echo ' + GH_TOKEN_VALUE + "; exit 0; fi\n"
        "exit 1\n"
    )
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    return tmp_path / "gh-argv"


def open_session(project: Path, **extra: str) -> Session:
    return Session.open(project, env={**os.environ, **extra})


@pytest.mark.parametrize(
    "url",
    [
        "https://github.com/acme/dream-pixel.git",
        "https://github.com/acme/dream-pixel",
        "git@github.com:acme/dream-pixel.git",
        "ssh://git@github.com/acme/dream-pixel.git",
        "https://x-access-token:ghp_SECRETinTHEurl@github.com/acme/dream-pixel.git",
    ],
)
def test_repository_comes_from_the_origin_remote(project: Path, url: str) -> None:
    session = open_session(with_remote(project, url))
    assert session.value("GITHUB_REPOSITORY") == "acme/dream-pixel"
    assert session.values.operator_source["GITHUB_REPOSITORY"] == discover.GIT_REMOTE


def test_a_remote_elsewhere_than_github_is_not_taken(project: Path) -> None:
    session = open_session(with_remote(project, "git@gitlab.com:acme/dream-pixel.git"))
    assert session.value("GITHUB_REPOSITORY") is None


def test_the_environment_wins_over_the_remote(project: Path) -> None:
    with_remote(project, "git@github.com:acme/dream-pixel.git")
    session = open_session(project, GITHUB_REPOSITORY="other/fork")
    assert session.value("GITHUB_REPOSITORY") == "other/fork"
    assert session.values.operator_source["GITHUB_REPOSITORY"] == "environment"


def test_github_prerequisite_needs_a_remote_not_only_dot_git(project: Path) -> None:
    from wizard.steps.prerequisites import local_checks

    git(project, "init", "-q")
    key = "GitHub repository (git remote origin)"
    assert local_checks(project)[key] is False
    git(project, "remote", "add", "origin", "https://github.com/acme/dream-pixel.git")
    assert local_checks(project)[key] is True


def test_github_token_from_gh_never_in_argv_or_output(
    project: Path, fake_gh: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with_remote(project, "git@github.com:acme/dream-pixel.git")
    code = main(["--project-dir", str(project), "plan", "--only", "github", "--json"])
    out, err = capsys.readouterr()
    assert fake_gh.read_text().split() == ["auth", "token", "--hostname", "github.com"]
    assert GH_TOKEN_VALUE not in out + err
    assert json.loads(out)["operator_sources"]["GITHUB_TOKEN"] == discover.GH
    assert code == 1  # SENTRY_* missing for the push: refused offline, after discovery

    main(["--project-dir", str(project), "plan", "--only", "github"])
    out, err = capsys.readouterr()
    assert GH_TOKEN_VALUE not in out + err
    assert "GITHUB_TOKEN       ••••  (from gh)" in out
    assert "GITHUB_REPOSITORY  acme/dream-pixel  (from git remote)" in out


def test_no_operator_credential_travels_to_gh(project: Path, fake_gh: Path) -> None:
    vercel = "vercel_TOKEN_never_in_a_child_0123"
    session = open_session(project, VERCEL_TOKEN=vercel, CLOUDFLARE_API_TOKEN="cf" * 20)
    session.load_keyring_credentials()
    child_env = (fake_gh.parent / "gh-env").read_text()
    assert "HOME=" in child_env
    assert vercel not in child_env and "cf" * 20 not in child_env


def test_gh_token_is_read_after_the_environment_and_keyring(project: Path, fake_gh: Path) -> None:
    mine = "ghp_" + "Env0123456" * 4
    session = open_session(project, GITHUB_TOKEN=mine)
    session.load_keyring_credentials()
    assert session.value("GITHUB_TOKEN") == mine
    assert not fake_gh.exists()  # gh was not even asked

    session = open_session(project)
    session.load_keyring_credentials()
    assert session.value("GITHUB_TOKEN") == GH_TOKEN_VALUE
    assert session.values.operator_source["GITHUB_TOKEN"] == discover.GH


def test_a_hanging_gh_is_given_up_on(
    project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bin_dir = tmp_path / "slowbin"
    bin_dir.mkdir()
    (bin_dir / "gh").write_text("#!/bin/sh\nexec sleep 30\n")
    (bin_dir / "gh").chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setattr(discover, "TIMEOUT_S", 0.5)
    session = open_session(project)
    session.load_keyring_credentials()
    assert session.value("GITHUB_TOKEN") is None


def test_vercel_ids_from_the_project_link(project: Path) -> None:
    (project / ".vercel").mkdir()
    (project / ".vercel" / "project.json").write_text(
        json.dumps({"orgId": "team_0a1b2c3d4e5f", "projectId": "prj_9z8y7x6w5v"})
    )
    session = open_session(project)
    assert session.value("VERCEL_ORG_ID") == "team_0a1b2c3d4e5f"
    assert session.value("VERCEL_PROJECT_ID") == "prj_9z8y7x6w5v"
    assert session.values.operator_source["VERCEL_PROJECT_ID"] == discover.VERCEL_LINK
    # Found again next time with its source; never copied into the state as if typed.
    session.save()
    state = json.loads((project / ".dream-pixel" / "state-production.json").read_text())
    assert "VERCEL_PROJECT_ID" not in json.dumps(state)


def test_a_linked_project_file_is_not_read_through(project: Path, tmp_path: Path) -> None:
    elsewhere = tmp_path / "other.json"
    elsewhere.write_text(json.dumps({"orgId": "team_x", "projectId": "prj_x"}))
    (project / ".vercel").mkdir()
    (project / ".vercel" / "project.json").symlink_to(elsewhere)
    session = open_session(project)
    assert session.value("VERCEL_PROJECT_ID") is None
    assert any(".vercel/project.json is a symbolic link" in n for n in session.notices)


@pytest.mark.parametrize("folder", [".local/share/com.vercel.cli", ".now"])
def test_vercel_token_from_the_cli_login(project: Path, home: Path, folder: str) -> None:
    (home / folder).mkdir(parents=True)
    (home / folder / "auth.json").write_text(json.dumps({"token": VERCEL_CLI_TOKEN}))
    session = open_session(project)
    session.load_keyring_credentials()
    assert session.value("VERCEL_TOKEN") == VERCEL_CLI_TOKEN
    assert session.values.operator_source["VERCEL_TOKEN"] == discover.VERCEL_LOGIN
    # It is pushed to GitHub as a CI secret: say that logging out would revoke it.
    assert any("vercel" in n.lower() and "revokes" in n for n in session.notices)


def test_expired_vercel_login_is_not_used(project: Path, home: Path) -> None:
    folder = home / ".local/share/com.vercel.cli"
    folder.mkdir(parents=True)
    (folder / "auth.json").write_text(json.dumps({"token": VERCEL_CLI_TOKEN, "expiresAt": 1000}))
    session = open_session(project)
    session.load_keyring_credentials()
    assert session.value("VERCEL_TOKEN") is None
    assert any("login has expired" in n for n in session.notices)


def test_plain_names_the_source_of_each_operator_value(
    project: Path, fake_gh: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import sys

    import questionary
    from prompt_toolkit.application import create_app_session
    from prompt_toolkit.input import create_pipe_input
    from prompt_toolkit.output import DummyOutput

    from wizard import plain

    with_remote(project, "git@github.com:acme/dream-pixel.git")
    first = open_session(project)
    for st in first.steps():
        if st.id == "github":
            break
        first.mark_skipped(st.id, "later")
    session = open_session(project)
    session.load_keyring_credentials()
    asked: list[str] = []
    for kind in ("text", "password"):
        real = getattr(questionary, kind)

        def spy(message: str, *a: object, _real: object = real, **kw: object) -> object:
            asked.append(message)
            return _real(message, *a, **kw)  # type: ignore[operator]

        monkeypatch.setattr(questionary, kind, spy)

    class Tty:
        def isatty(self) -> bool:
            return True

    monkeypatch.setattr(sys, "stdin", Tty())
    with create_pipe_input() as pipe:
        pipe.send_text("\r\r\r\x03")  # Resume, Fill in, keep the token, stop at the repository
        with create_app_session(input=pipe, output=DummyOutput()):
            assert plain.run_plain(session, dry_run=False) == 130
    assert any("(GITHUB_TOKEN) [from gh]" in m and "Enter keeps" in m for m in asked)
    assert "Repository (GITHUB_REPOSITORY) [from git remote]" in asked


def test_values_found_on_this_machine_are_named_by_where_they_were_found(project: Path) -> None:
    """The destinations list and the plan's "replaced by" lines say git remote / gh, the
    way the operator-values list does, never "given"."""
    session = open_session(project)
    session.values.operator.update(GITHUB_REPOSITORY="acme/dream-pixel", GITHUB_TOKEN="t" * 40)
    session.values.operator_source.update(
        GITHUB_REPOSITORY=discover.GIT_REMOTE, GITHUB_TOKEN=discover.GH
    )
    [repo] = [d for d in session.destinations(["github"]) if d.name == "acme/dream-pixel"]
    assert repo.source == "git remote"
    assert session.values.origin("GITHUB_TOKEN", "production") == "the value from gh"
