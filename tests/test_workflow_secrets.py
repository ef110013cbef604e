"""The github step reads the workflows: what they use and nobody set, with file and line,
through the real CLI against the loopback FakeGitHub (requests checked against GitHub's
OpenAPI description by the fake)."""

from __future__ import annotations

import contextlib
import io
import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.fakes.github import FakeGitHub, Secret
from wizard.cli import main

FIXTURES = Path(__file__).parent / "fixtures" / "workflows"
TOKEN = "github_pat_workflows_0123456789abcdef"  # a fine-grained token's shape
REPO = "dream-pixel/app"
VALUES = {
    "VERCEL_TOKEN": "vc_token_for_workflow_tests",
    "VERCEL_ORG_ID": "team_workflows",
    "VERCEL_PROJECT_ID": "prj_workflows",
}


@pytest.fixture
def fake() -> Iterator[FakeGitHub]:
    with FakeGitHub() as service:
        service.add_token(TOKEN)
        service.add_repo(REPO, environments=("production",))
        yield service


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "project"
    shutil.copytree(FIXTURES, root / ".github" / "workflows")
    return root


def cli(
    monkeypatch: pytest.MonkeyPatch, fake: FakeGitHub, project: Path, *args: str
) -> tuple[int, str, str]:
    inputs = project.parent / "inputs.env"
    sentry = "sntrys_workflow_tests_token_0123456789abcdefghijklmn"  # Sentry's shape
    inputs.write_text(f'SENTRY_AUTH_TOKEN="{sentry}"\n', encoding="utf-8")
    env = {
        **VALUES,
        "GITHUB_TOKEN": TOKEN,
        "GITHUB_REPOSITORY": REPO,
        "GITHUB_API_URL": fake.url,
        "NO_COLOR": "1",
        "HOME": str(project.parent / "home"),
        "XDG_CONFIG_HOME": str(project.parent / "home" / ".config"),
        "PYTHON_KEYRING_BACKEND": "keyring.backends.null.Keyring",
    }
    command, *rest = args
    argv = [
        command,
        "--project-dir",
        str(project),
        "--only",
        "github",
        "--env-file",
        str(inputs),
        "--set",
        "SENTRY_ORG=dream-pixel",
        "--set",
        "SENTRY_PROJECT=dream-pixel-web",
        *rest,
    ]
    with monkeypatch.context() as m:
        m.delenv("SNYK_TOKEN", raising=False)
        for key, value in env.items():
            m.setenv(key, value)
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = main(argv)
    return code, out.getvalue(), err.getvalue()


def _secret(name: str) -> Secret:
    when = "2026-11-01T10:00:00Z"
    return Secret(name, b"set by someone", when, when)


def missing(plan: dict[str, Any]) -> dict[str, str]:
    return {
        c["resource"]: c["detail"]
        for c in plan["changes"]
        if c["target"] == "github" and c["action"] == "missing"
    }


def test_plan_lists_what_workflows_use_and_nobody_set(
    monkeypatch: pytest.MonkeyPatch, fake: FakeGitHub, project: Path
) -> None:
    # DATADOG_API_KEY is set on GitHub already; one variable too.
    fake.repos[REPO].variables["DEPLOY_ENVIRONMENT"] = "production"
    code, out, err = cli(monkeypatch, fake, project, "plan", "--json")
    assert code == 0, err
    plan = json.loads(out)
    gaps = missing(plan)
    assert gaps["workflow-secret:SLACK_WEBHOOK_URL"] == ".github/workflows/deploy.yml:35"
    assert gaps["workflow-secret:SNYK_TOKEN"] == ".github/workflows/security.yml:21"
    # Pushed by the wizard: not missing. GITHUB_TOKEN is GitHub's own.
    assert not any(k.endswith((":VERCEL_TOKEN", ":GITHUB_TOKEN")) for k in gaps)
    assert all(r.method == "GET" for r in fake.requests())
    assert any(r.path.endswith("/actions/variables") for r in fake.requests())

    # The human review names file and line too.
    code, out, _ = cli(monkeypatch, fake, project, "plan")
    assert code == 0
    assert "workflow-secret:SLACK_WEBHOOK_URL  (.github/workflows/deploy.yml:35)" in out


def test_secret_set_on_github_is_not_missing(
    monkeypatch: pytest.MonkeyPatch, fake: FakeGitHub, project: Path
) -> None:
    code, out, _ = cli(monkeypatch, fake, project, "plan", "--json")
    before = missing(json.loads(out))
    assert "workflow-secret:SLACK_WEBHOOK_URL" in before
    fake.repos[REPO].secrets["SLACK_WEBHOOK_URL"] = _secret("SLACK_WEBHOOK_URL")
    for name in (n.split(":", 1)[1] for n in before if n.startswith("workflow-variable:")):
        fake.repos[REPO].variables[name] = "v"
    code, out, err = cli(monkeypatch, fake, project, "plan", "--json")
    assert code == 0, err
    after = missing(json.loads(out))
    assert "workflow-secret:SLACK_WEBHOOK_URL" not in after
    assert not any(k.startswith("workflow-variable:") for k in after)


def test_environment_and_repository_names_both_count(
    monkeypatch: pytest.MonkeyPatch, fake: FakeGitHub, project: Path
) -> None:
    repo = fake.repos[REPO]
    repo.secrets["SLACK_WEBHOOK_URL"] = _secret("SLACK_WEBHOOK_URL")
    repo.environments["production"]["DATADOG_API_KEY"] = _secret("DATADOG_API_KEY")
    code, out, err = cli(
        monkeypatch, fake, project, "plan", "--json", "--github-environment", "production"
    )
    assert code == 0, err
    gaps = missing(json.loads(out))
    assert "workflow-secret:SLACK_WEBHOOK_URL" not in gaps
    assert "workflow-secret:DATADOG_API_KEY" not in gaps
    assert "workflow-secret:SNYK_TOKEN" in gaps
    assert any("/environments/production/variables" in r.path for r in fake.requests())


def test_strict_fails_before_any_push(
    monkeypatch: pytest.MonkeyPatch, fake: FakeGitHub, project: Path
) -> None:
    code, out, err = cli(monkeypatch, fake, project, "apply", "--yes", "--strict")
    assert code != 0
    line = next(x for x in err.splitlines() if "SLACK_WEBHOOK_URL" in x)
    assert "GitHub" in line and ".github/workflows/deploy.yml:35" in line
    assert "Traceback" not in err
    assert fake.writes() == []
    # Without --strict the same apply pushes and lists the gap.
    code, out, err = cli(monkeypatch, fake, project, "apply", "--yes", "--json")
    assert code == 0, err
    assert "workflow-secret:SLACK_WEBHOOK_URL" in missing(json.loads(out))
    assert fake.secret(REPO, "VERCEL_TOKEN") == VALUES["VERCEL_TOKEN"].encode()


def test_unreadable_workflow_is_a_notice(
    monkeypatch: pytest.MonkeyPatch, fake: FakeGitHub, project: Path
) -> None:
    (project / ".github" / "workflows" / "broken.yml").write_text("jobs: [unclosed\n")
    code, out, err = cli(monkeypatch, fake, project, "plan", "--json")
    assert code == 0, err
    assert "broken.yml" in out + err
    assert "workflow-secret:SLACK_WEBHOOK_URL" in missing(json.loads(out))


def test_variables_refused_is_one_line_naming_the_permission(
    monkeypatch: pytest.MonkeyPatch, fake: FakeGitHub, project: Path
) -> None:
    fake.add_token(TOKEN, scopes=None, variables_read=False)
    code, out, err = cli(monkeypatch, fake, project, "plan", "--json")
    assert code == 0, err
    text = out + err
    assert "Variables: read" in text
    gaps = missing(json.loads(out))
    assert "workflow-secret:SLACK_WEBHOOK_URL" in gaps  # secrets still judged
    assert not any(k.startswith("workflow-variable:") for k in gaps)
