"""The `deploy` step against the Vercel stand-in, through the real CLI (and a real process
for kill -9): one deployment after the pushes, watched to READY; none when nothing changed;
an interrupted watch resumed, never doubled; an ERROR build's log tail, redacted."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.fakes.vercel import FakeVercel, Project
from wizard.cli import main
from wizard.envfile import format_assignment

TOKEN = "vercel-test-token-0123456789"  # a Vercel token's shape
SECRET = "s3cr3t-" + "x" * 40  # a value a build log might print


@dataclass
class World:
    vercel: FakeVercel
    project: Project
    app: Path
    inputs: Path

    def env(self) -> dict[str, str]:
        return {
            "VERCEL_API_URL": self.vercel.url,
            "VERCEL_TOKEN": TOKEN,
            "VERCEL_PROJECT_ID": self.project.name,
        }

    def cli(self, monkeypatch: pytest.MonkeyPatch, *args: str, only: str = "vercel,deploy") -> int:
        for k, v in self.env().items():
            monkeypatch.setenv(k, v)
        return main(
            ["--project-dir", str(self.app), *args, "--env-file", str(self.inputs), "--only", only]
        )

    def creates(self) -> list[dict[str, object]]:
        return [r.json() for r in self.vercel.requests("POST") if r.path == "/v13/deployments"]


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    app = tmp_path / "app"
    app.mkdir()
    (app / "package.json").write_text("{}")
    inputs = tmp_path / "inputs.env"
    values = {
        "NEXTAUTH_URL": "https://dreampixel.example",
        "NEXTAUTH_SECRET": SECRET,
        "JWT_SECRET": "j" * 64,
    }
    inputs.write_text("".join(format_assignment(k, v) + "\n" for k, v in values.items()))
    with FakeVercel(TOKEN) as vercel:
        vercel.build_seconds = 0.3
        project = vercel.add_project("dream-pixel")
        project.link = {
            "type": "github",
            "org": "acme",
            "repo": "dream-pixel",
            "repoId": 4242,
            "productionBranch": "main",
            "gitCredentialId": "cred_1",
            "deployHooks": [],
        }
        yield World(vercel, project, app, inputs)


def plan_json(world: World, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]):
    assert world.cli(monkeypatch, "plan", "--json") in (0, 2)
    return json.loads(capsys.readouterr().out)


def deployment_changes(plan: dict) -> list[dict]:
    return [c for c in plan["changes"] if str(c.get("resource", "")).startswith("deployment")]


def test_one_deployment_after_the_pushes_then_none(
    world: World, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    old = world.vercel.add_deployment(world.project, age_ms=60_000)
    plan = plan_json(world, monkeypatch, capsys)
    pushed = [c for c in plan["changes"] if c["target"] == "vercel" and c["action"] == "add"]
    assert len(pushed) >= 3
    assert deployment_changes(plan) == [
        {
            "target": "vercel",
            "resource": "deployment",
            "action": "create",
            "detail": f"redeploy {old.id} to production: {len(pushed)} Vercel values changed "
            "in this run",
        }
    ]
    assert world.creates() == []  # a plan creates nothing

    assert world.cli(monkeypatch, "apply", "--yes") == 0
    err = capsys.readouterr().err
    creates = world.creates()
    assert creates == [
        {
            "name": "dream-pixel",
            "deploymentId": old.id,
            "target": "production",
            "meta": {"action": "redeploy"},
        }
    ]
    # After the pushes: the env upsert came first, and the build saw the new values.
    posts = [r.path for r in world.vercel.requests("POST")]
    assert posts.index(f"/v10/projects/{world.project.id}/env") < posts.index("/v13/deployments")
    new = world.vercel.production_of(world.project)
    assert new is not None and new.id != old.id and new.source == old.id
    assert new.env["NEXTAUTH_SECRET"] == SECRET
    assert f"deployment {new.id} is ready" in err
    polls = [r for r in world.vercel.requests("GET") if r.path == f"/v13/deployments/{new.id}"]
    assert polls, "the deployment was watched"

    # A rerun: nothing changed, nothing planned, nothing created.
    plan = plan_json(world, monkeypatch, capsys)
    assert deployment_changes(plan) == []
    assert world.cli(monkeypatch, "apply", "--yes") == 0
    assert len(world.creates()) == 1


def test_values_changed_on_vercel_since_the_build_redeploy(
    world: World, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert world.cli(monkeypatch, "apply", "--yes", only="vercel") == 0
    err = capsys.readouterr().err
    assert "values take effect on the next deployment" in err  # deploy was not selected
    world.vercel.add_deployment(world.project, age_ms=3_600_000)  # built an hour ago
    plan = plan_json(world, monkeypatch, capsys)
    (change,) = deployment_changes(plan)
    assert change["detail"].endswith("production was built before the latest environment change")


def test_first_deployment_from_the_linked_repository(
    world: World, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert world.cli(monkeypatch, "apply", "--yes") == 0
    assert world.creates() == [
        {
            "name": "dream-pixel",
            "target": "production",
            "gitSource": {"type": "github", "repoId": 4242, "ref": "main"},
        }
    ]
    assert world.vercel.production_of(world.project) is not None


def test_no_deployment_and_no_repository_is_a_clear_error(
    world: World, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    world.project.link = None
    assert world.cli(monkeypatch, "plan") == 1
    err = capsys.readouterr().err
    assert "no production deployment and no linked Git repository" in err
    assert "Traceback" not in err


def test_error_build_fails_with_its_redacted_log_tail(
    world: World, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    old = world.vercel.add_deployment(world.project, age_ms=60_000)
    world.vercel.fail_builds = True
    assert world.cli(monkeypatch, "apply", "--yes") == 1
    out, err = capsys.readouterr()
    assert "Error: Cannot find module 'next'" in err
    assert 'Command "npm run build" exited with 1' in err
    assert "env NEXTAUTH_SECRET=•••" in err  # printed by the build, masked by us
    assert "build line 39" in err and "build line 5\n" not in err  # the tail, not all of it
    assert "ended ERROR" in err
    assert SECRET not in out + err  # the build printed it; we did not
    assert world.vercel.production_of(world.project).id == old.id  # type: ignore[union-attr]


def test_kill_during_the_watch_then_rerun_gives_one_deployment(world: World) -> None:
    world.vercel.add_deployment(world.project, age_ms=60_000)
    world.vercel.build_seconds = 8.0
    env = {**os.environ, **world.env()}
    argv = [
        sys.executable, "-m", "wizard", "--project-dir", str(world.app), "apply", "--yes",
        "--env-file", str(world.inputs), "--only", "vercel,deploy",
    ]  # fmt: skip
    proc = subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        limit = time.monotonic() + 30
        while not world.creates() and time.monotonic() < limit:
            time.sleep(0.05)
        assert world.creates(), "the deployment was never requested"
        time.sleep(0.5)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
    (first,) = [d for d in world.vercel.deployments if d.source]
    assert first.state == "BUILDING"

    rerun = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=60)
    assert rerun.returncode == 0, rerun.stderr
    assert len(world.creates()) == 1  # watched the same one, never a second
    assert f"deployment {first.id} is ready" in rerun.stderr
    assert world.vercel.production_of(world.project).id == first.id  # type: ignore[union-attr]


def test_rollback_promotes_the_previous_deployment_and_warns_of_migrations(
    world: World, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    older = world.vercel.add_deployment(world.project, age_ms=120_000)
    assert world.cli(monkeypatch, "apply", "--yes") == 0  # redeploys: production is new
    new = world.vercel.production_of(world.project)
    assert new is not None and new.id != older.id
    # The deploy step remembers the migrations a deployment came with (this one: none):
    # pretend this run had applied one, as the migrate step reports it.
    state = json.loads((world.app / ".dream-pixel" / "state-production.json").read_text())
    assert state["steps"]["deploy"]["memory"]["history"] == {new.id: []}
    state["steps"]["deploy"]["memory"]["history"][new.id] = ["20240301000000_add_credits"]
    (world.app / ".dream-pixel" / "state-production.json").write_text(json.dumps(state))
    capsys.readouterr()

    def rollback(*args: str) -> int:
        return main(["--project-dir", str(world.app), "rollback", *args])

    assert rollback("--dry-run", "--json") == 0
    out, err = capsys.readouterr()
    assert json.loads(out)["changes"] == [
        {
            "target": "vercel",
            "resource": "production",
            "action": "update",
            "detail": f"promote {older.id} (production served {new.id})",
        }
    ]
    assert f"{new.id}" in err and "production now" in err and "rollback target" in err
    assert world.vercel.production_of(world.project).id == new.id  # type: ignore[union-attr]
    assert not [r for r in world.vercel.requests("POST") if "/promote/" in r.path]

    assert rollback("--yes") == 0
    out, _ = capsys.readouterr()
    assert f"Production now serves {older.id}" in out
    assert "20240301000000_add_credits" in out and "prisma migrate resolve --rolled-back" in out
    assert world.vercel.production_of(world.project).id == older.id  # type: ignore[union-attr]
    (promote,) = [r for r in world.vercel.requests("POST") if "/promote/" in r.path]
    assert promote.path == f"/v10/projects/{world.project.id}/promote/{older.id}"

    # Nothing older left: a clear refusal, nothing sent.
    assert rollback("--yes", "--to", "dpl_nope") == 1
    assert "Traceback" not in capsys.readouterr().err
