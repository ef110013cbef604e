"""The safeguards step through the real CLI: Dependabot alerts and security updates, secret
scanning, .github/dependabot.yml, the Snyk token, against loopback GitHub and Snyk stand-ins
(GitHub's requests and answers checked against its OpenAPI description by the fake)."""

from __future__ import annotations

import contextlib
import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.fakes.github import FakeGitHub
from tests.fakes.snyk import FakeSnyk
from wizard.cli import main
from wizard.steps.safeguards import DEPENDABOT_YML

TOKEN = "github_pat_safeguards_0123456789abcdef"  # a fine-grained token's shape
REPO = "dream-pixel/app"
SNYK = "snyk-token-0000-1111-2222-333344445555"


@pytest.fixture
def github() -> Iterator[FakeGitHub]:
    with FakeGitHub() as service:
        service.add_token(TOKEN)
        service.add_repo(REPO)
        yield service


@pytest.fixture
def snyk() -> Iterator[FakeSnyk]:
    with FakeSnyk(SNYK) as service:
        yield service


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "project"
    root.mkdir()
    return root


def cli(
    monkeypatch: pytest.MonkeyPatch,
    github: FakeGitHub,
    snyk: FakeSnyk,
    project: Path,
    *args: str,
    snyk_token: str | None = SNYK,
) -> tuple[int, str, str]:
    env = {
        "GITHUB_TOKEN": TOKEN,
        "GITHUB_REPOSITORY": REPO,
        "GITHUB_API_URL": github.url,
        "SNYK_API_URL": snyk.url,
        "NO_COLOR": "1",
        "HOME": str(project.parent / "home"),
        "XDG_CONFIG_HOME": str(project.parent / "home" / ".config"),
        "PYTHON_KEYRING_BACKEND": "keyring.backends.null.Keyring",
    }
    command, *rest = args
    with monkeypatch.context() as m:
        m.delenv("SNYK_TOKEN", raising=False)
        for key, value in env.items():
            m.setenv(key, value)
        if snyk_token is not None:
            m.setenv("SNYK_TOKEN", snyk_token)
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = main([command, "--project-dir", str(project), "--only", "safeguards", *rest])
    return code, out.getvalue(), err.getvalue()


def actions(out: str) -> dict[str, str]:
    plan: dict[str, Any] = json.loads(out)
    return {c["resource"]: c["action"] for c in plan["changes"] if "resource" in c}


def test_plan_reads_only_then_apply_switches_everything_on_once(
    monkeypatch: pytest.MonkeyPatch, github: FakeGitHub, snyk: FakeSnyk, project: Path
) -> None:
    code, out, err = cli(monkeypatch, github, snyk, project, "plan", "--json")
    assert code == 0, err
    assert actions(out) == {
        "snyk-token": "check",
        "dependabot-alerts": "update",
        "dependabot-security-updates": "update",
        "secret-scanning": "update",
        "secret-scanning-push-protection": "update",
        ".github/dependabot.yml": "create",
    }
    assert {r.method for r in github.requests()} == {"GET"}
    assert not (project / ".github").exists()

    code, out, err = cli(monkeypatch, github, snyk, project, "apply", "--yes", "--json")
    assert code == 0, err
    repo = github.repos[REPO]
    assert repo.dependabot_alerts and repo.security_updates
    assert repo.security == {
        "secret_scanning": "enabled",
        "secret_scanning_push_protection": "enabled",
    }
    written = project / ".github" / "dependabot.yml"
    assert written.read_text() == DEPENDABOT_YML
    assert "package-ecosystem" in written.read_text() and "weekly" in written.read_text()
    # The Snyk token was sent the way Snyk documents it, and never anywhere else.
    assert snyk.requests()[0].headers["authorization"] == f"token {SNYK}"
    assert SNYK not in out + err

    # A second apply sends no write and reports nothing to change.
    before = len(github.writes())
    code, out, err = cli(monkeypatch, github, snyk, project, "apply", "--yes", "--json")
    assert code == 0, err
    assert len(github.writes()) == before
    assert not {a for r, a in actions(out).items() if a not in ("unchanged", "check")}
    assert written.read_text() == DEPENDABOT_YML


def test_users_dependabot_file_is_never_overwritten(
    monkeypatch: pytest.MonkeyPatch, github: FakeGitHub, snyk: FakeSnyk, project: Path
) -> None:
    own = "version: 2\nupdates:\n  - package-ecosystem: pip\n    directory: /\n"
    (project / ".github").mkdir()
    (project / ".github" / "dependabot.yml").write_text(own)
    code, out, err = cli(monkeypatch, github, snyk, project, "apply", "--yes", "--json")
    assert code == 0, err
    assert actions(out)[".github/dependabot.yml"] == "keep"
    assert (project / ".github" / "dependabot.yml").read_text() == own


def test_dependabot_link_is_refused(
    monkeypatch: pytest.MonkeyPatch, github: FakeGitHub, snyk: FakeSnyk, project: Path
) -> None:
    (project / ".github").mkdir()
    target = project.parent / "elsewhere.yml"
    (project / ".github" / "dependabot.yml").symlink_to(target)
    code, _, err = cli(monkeypatch, github, snyk, project, "apply", "--yes")
    assert code != 0
    assert "dependabot.yml" in err and "Traceback" not in err
    assert not target.exists()


def test_plan_without_secret_scanning_is_a_notice(
    monkeypatch: pytest.MonkeyPatch, github: FakeGitHub, snyk: FakeSnyk, project: Path
) -> None:
    github.repos[REPO].scanning_available = False
    code, out, err = cli(monkeypatch, github, snyk, project, "apply", "--yes", "--json")
    assert code == 0, err
    plan = json.loads(out)
    assert actions(out)["secret-scanning"] == "skip"
    assert any("plan" in n and "Secret Protection" in n for n in plan.get("notices", [])) or (
        "Secret Protection" in err
    )
    assert github.repos[REPO].dependabot_alerts
    # The refusal is remembered: the next run does not ask GitHub again.
    patches = len(github.requests("PATCH"))
    code, out, err = cli(monkeypatch, github, snyk, project, "apply", "--yes", "--json")
    assert code == 0, err
    assert len(github.requests("PATCH")) == patches
    assert actions(out)["secret-scanning"] == "skip"


def test_snyk_token_refused_before_anything_changes(
    monkeypatch: pytest.MonkeyPatch, github: FakeGitHub, snyk: FakeSnyk, project: Path
) -> None:
    code, _, err = cli(
        monkeypatch, github, snyk, project, "apply", "--yes", snyk_token="snyk-wrong-token-000"
    )
    assert code != 0
    line = next(x for x in err.splitlines() if "Snyk" in x)
    assert "SNYK_TOKEN" in line and "snyk-wrong-token-000" not in err
    assert github.writes() == []


def test_token_without_administration_named_in_one_line(
    monkeypatch: pytest.MonkeyPatch, github: FakeGitHub, snyk: FakeSnyk, project: Path
) -> None:
    github.add_token(TOKEN, scopes=None, administration=False)
    code, _, err = cli(monkeypatch, github, snyk, project, "plan")
    assert code != 0
    lines = [x for x in err.splitlines() if "Administration: read and write" in x]
    assert len(lines) == 1 and "GitHub" in lines[0]
    github.add_token(TOKEN, scopes=("workflow",))
    code, _, err = cli(monkeypatch, github, snyk, project, "plan")
    assert code != 0
    assert any("repo scope" in x for x in err.splitlines())
