"""A fresh clone against Vercel and GitHub stand-ins that already hold production's values.

Register with ``pytest_plugins = ("tests.clone_world",)``: the ``clone`` fixture gives a
project folder with no ``.env.production`` and no ``.dream-pixel/``, a FakeVercel holding
sensitive NEXTAUTH_SECRET/JWT_SECRET nobody here knows, and a FakeGitHub repository holding
CI secrets stored by hand (no push of ours recorded).
"""

from __future__ import annotations

import contextlib
import io
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.fakes.github import FakeGitHub, Secret
from tests.fakes.vercel import FakeVercel, Project
from wizard.cli import main
from wizard.envfile import format_assignment, load_env_file

VERCEL_TOKEN = "vercel_unseen_TOKEN_5e2d8c1a9b7f"
GITHUB_TOKEN = "ghp_unseenGITHUBtoken4Kd8Pq2Wz6Rt0a1b2c3"
TEAM = "team_dreampixel"
REPO = "dream-pixel/app"
# What production runs with today: nobody in this clone knows these.
PROD_NEXTAUTH = "prod-nextauth-" + "9" * 50
PROD_JWT = "prod-jwt-" + "8" * 55
OLD_CI = {
    "VERCEL_TOKEN": "old-vercel-token-in-github",
    "SENTRY_AUTH_TOKEN": "old-sentry-token-in-github",
    "SENTRY_PROJECT": "the-real-sentry-project",
}
SENTRY_TOKEN = "sntrys_unseenSENTRYtoken0123456789abcdef0123456"
ONLY = "secrets,env-file,vercel,github"


@dataclass
class Clone:
    vercel: FakeVercel
    github: FakeGitHub
    project: Project
    dir: Path
    inputs: Path

    def env(self) -> dict[str, str]:
        return {
            "VERCEL_TOKEN": VERCEL_TOKEN,
            "VERCEL_ORG_ID": TEAM,
            "VERCEL_PROJECT_ID": "dream-pixel",
            "GITHUB_TOKEN": GITHUB_TOKEN,
            "GITHUB_REPOSITORY": REPO,
            "VERCEL_API_URL": self.vercel.url,
            "GITHUB_API_URL": self.github.url,
            "NO_COLOR": "1",
        }

    def cli(self, mp: pytest.MonkeyPatch, command: str, *args: str) -> tuple[int, str, str]:
        argv = [command, "--project-dir", str(self.dir), "--only", ONLY]
        argv += ["--env-file", str(self.inputs), "--set", "SENTRY_ORG=acme", *args]
        with mp.context() as m:
            for key, value in self.env().items():
                m.setenv(key, value)
            out, err = io.StringIO(), io.StringIO()
            with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
                code = main(argv)
        return code, out.getvalue(), err.getvalue()

    def vercel_value(self, key: str) -> list[str]:
        return [e.value for e in self.project.entries(key, "production")]

    def github_value(self, name: str) -> str | None:
        raw = self.github.secret(REPO, name)
        return raw.decode() if raw is not None else None

    def env_file(self) -> dict[str, str]:
        return load_env_file(self.dir / ".env.production").values()


@pytest.fixture
def clone(tmp_path: Path) -> Iterator[Clone]:
    with FakeVercel(VERCEL_TOKEN) as vercel, FakeGitHub() as github:
        project = vercel.add_project("dream-pixel", team_id=TEAM)
        vercel.add_env(project, "NEXTAUTH_SECRET", PROD_NEXTAUTH, type="sensitive")
        vercel.add_env(project, "JWT_SECRET", PROD_JWT, type="sensitive")
        github.add_token(GITHUB_TOKEN)
        repo = github.add_repo(REPO)
        for name, value in OLD_CI.items():  # what somebody stored before, by hand
            repo.secrets[name] = Secret(
                name, value.encode(), "2025-01-01T00:00:00Z", "2025-01-01T00:00:00Z"
            )
        project_dir = tmp_path / "clone"
        project_dir.mkdir()
        (project_dir / "package.json").write_text('{"name": "dream-pixel"}\n')
        inputs = tmp_path / "inputs.env"
        inputs.write_text(format_assignment("SENTRY_AUTH_TOKEN", SENTRY_TOKEN) + "\n")
        yield Clone(vercel, github, project, project_dir, inputs)
