"""Destinations come from the operator, shown before any push (issue 12, point 4).

A state file can remember where the last run sent values; it can no longer choose where
this run sends them. Through the real CLI against the stand-ins (tests/e2e_world.py).
"""

from __future__ import annotations

import contextlib
import io
import json
import sys
from pathlib import Path
from typing import Any

import pytest

pytest.register_assert_rewrite("tests.e2e_world")

from tests.e2e_world import REPO, SITE, TEAM, VERCEL_PROJECT, ZONE, World  # noqa: E402

pytest_plugins = ("tests.pg_server", "tests.e2e_world")

ATTACKER = "attacker/collect"
PLANTED: dict[str, Any] = {
    "version": 1,
    "steps": {},
    "operator": {
        "GITHUB_REPOSITORY": ATTACKER,
        "VERCEL_PROJECT_ID": "collector",
        "VERCEL_ORG_ID": "team_attacker",
        "CLOUDFLARE_ZONE": "attacker.example",
    },
    "choices": {"github_environment": "exfil"},
    "app": {},
}
TARGETS = ("GITHUB_REPOSITORY", "VERCEL_PROJECT_ID", "VERCEL_ORG_ID")


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def plant(world: World, state: dict[str, Any]) -> None:
    world.state_path.parent.mkdir(exist_ok=True)
    world.state_path.write_text(json.dumps(state))  # 0644, as an older version wrote it


def run(
    world: World,
    monkeypatch: pytest.MonkeyPatch,
    argv: list[str],
    *,
    drop: tuple[str, ...] = (),
) -> tuple[int, str, str]:
    from wizard.cli import main

    with monkeypatch.context() as m:
        for key, value in world.env().items():
            m.setenv(key, value)
        for key in drop:
            m.delenv(key, raising=False)
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = main(argv)
    return code, out.getvalue(), err.getvalue()


def attacker_requests(world: World) -> list[str]:
    return [
        f"{name} {r.method} {r.path}"
        for name, fake in world.fakes.items()
        for r in fake.log
        if "attacker" in r.path or "collector" in r.path or "exfil" in r.path
    ]


def test_planted_state_never_sends_to_its_repository(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    world.github.add_repo(ATTACKER)  # it exists: the old wizard pushed the tokens there
    plant(world, PLANTED)
    # The operator gives no destination: the remembered ones are refused, not used.
    code, out, err = run(world, monkeypatch, world.argv("apply", "--yes"), drop=TARGETS)
    assert code == 1
    assert "Traceback" not in out + err and "internal error" not in err
    line = next(x for x in err.splitlines() if x.startswith("error: GITHUB_REPOSITORY"))
    assert ATTACKER in line and "export GITHUB_REPOSITORY=" in line and "--set" in line
    assert "error: VERCEL_PROJECT_ID" in err and "error: github_environment" in err
    assert attacker_requests(world) == []
    assert world.writes() == {name: [] for name in world.fakes}
    assert not world.env_path.exists()

    # The operator gives them now (an optional one as none): they win, announced.
    monkeypatch.setenv("CLOUDFLARE_ZONE", ZONE)
    argv = world.argv("apply", "--yes", "--set", "github_environment=")
    code, out, err = run(world, monkeypatch, argv)
    assert code == 0, err
    assert attacker_requests(world) == []
    assert world.github.secret(ATTACKER, "VERCEL_TOKEN") is None
    assert world.github_secret("VERCEL_TOKEN") is not None  # the operator's repository
    assert f"the last run used {ATTACKER}; this run uses {REPO}" in err
    assert "github_environment: the last run used exfil; this run uses none" in err
    state = world.state()
    assert state["operator"]["GITHUB_REPOSITORY"] == REPO
    assert world.state_path.stat().st_mode & 0o777 == 0o600


def test_plan_and_json_name_every_destination(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    code, out, err = run(world, monkeypatch, world.argv("plan"))
    assert code == 0, err
    block = out.split("Plan for production")[0]
    assert "Destinations:" in block
    for what, name, source in (
        ("GitHub repository", REPO, "the environment"),
        ("GitHub Actions environment", "none (repository secrets)", "default"),
        ("Vercel project", VERCEL_PROJECT, "the environment"),
        ("Vercel team", TEAM, "the environment"),
        ("Cloudflare zone", f"the zone of {ZONE}", "NEXTAUTH_URL"),
        ("S3 bucket", f"{world.bucket} (us-east-1, at {world.aws.url})", "--set"),
        ("Stripe webhook endpoint", SITE + "/api/webhooks/stripe", "NEXTAUTH_URL"),
    ):
        line = next(x for x in block.splitlines() if x.strip().startswith(what + " "))
        assert name in line and f"(from {source}" in line, line

    code, out, err = run(world, monkeypatch, [*world.argv("plan", "--json"), "--only", "github"])
    assert code == 0, err
    data = json.loads(out)
    assert data["destinations"] == [
        {
            "step": "github",
            "destination": "GitHub repository",
            "name": REPO,
            "from": "the environment",
        },
        {
            "step": "github",
            "destination": "GitHub Actions environment",
            "name": "none (repository secrets)",
            "from": "default",
        },
    ]


def test_interactive_apply_asks_before_using_a_remembered_repository(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The last run was given the repository (say, typed in the wizard); this one is not.
    plant(world, {"version": 1, "operator": {"GITHUB_REPOSITORY": REPO}})
    argv = [*world.argv("apply"), "--only", "github"]
    monkeypatch.setattr(sys, "stdin", Terminal("no\n"))
    code, out, err = run(world, monkeypatch, argv, drop=("GITHUB_REPOSITORY",))
    assert code == 1
    assert "Remembered from the last run" in out and f"GITHUB_REPOSITORY = {REPO}" in out
    assert "error: GITHUB_REPOSITORY" in err
    assert world.writes()["github"] == []

    monkeypatch.setattr(sys, "stdin", Terminal("yes\nyes\n"))
    code, out, err = run(world, monkeypatch, argv, drop=("GITHUB_REPOSITORY",))
    assert code == 0, err
    confirm = out.split("Apply these changes?")[0]
    assert "GitHub repository" in confirm and "remembered from the last run, confirmed" in confirm
    assert world.github_secret("VERCEL_TOKEN") is not None


def test_saved_answers_fill_gaps_only_and_are_announced(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    # An unfinished walk saved the production URL; this run is not given it.
    plant(world, {"version": 1, "app": {"NEXTAUTH_URL": SITE}})
    argv = strip_set(world.argv("plan", "--only", "stripe,env-file"), "NEXTAUTH_URL")
    code, out, err = run(world, monkeypatch, argv)
    assert code == 0, err
    assert "NEXTAUTH_URL: from the saved progress of an unfinished walk" in err
    line = next(x for x in out.splitlines() if "Stripe webhook endpoint" in x)
    assert "saved progress" in line

    # It never replaces a value the env file holds.
    world.env_path.write_text(f"NEXTAUTH_URL={SITE}\n")
    world.env_path.chmod(0o600)
    plant(world, {"version": 1, "app": {"NEXTAUTH_URL": "https://attacker.example"}})
    code, out, err = run(
        world, monkeypatch, strip_set(world.argv("plan", "--json"), "NEXTAUTH_URL")
    )
    data = json.loads(out)
    assert "attacker" not in out + err
    assert not any("saved progress" in n for n in data.get("notices", []))


def strip_set(argv: list[str], key: str) -> list[str]:
    out: list[str] = []
    skip = False
    for i, arg in enumerate(argv):
        if skip:
            skip = False
            continue
        if arg == "--set" and i + 1 < len(argv) and argv[i + 1].startswith(key + "="):
            skip = True
            continue
        out.append(arg)
    return out


def test_plain_walk_shows_remembered_destinations_and_asks(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from prompt_toolkit.application import create_app_session
    from prompt_toolkit.input import create_pipe_input
    from prompt_toolkit.output import DummyOutput

    from wizard import plain
    from wizard.engine import Session

    project = tmp_path / "app"
    (project / ".dream-pixel").mkdir(parents=True, mode=0o700)
    (project / "package.json").write_text("{}\n")
    state = {"version": 1, "operator": {"GITHUB_REPOSITORY": ATTACKER}}
    (project / ".dream-pixel" / "state-production.json").write_text(json.dumps(state))
    monkeypatch.setattr(sys, "stdin", Terminal())
    for answer, used in (("\r", None), ("y", ATTACKER)):  # Enter keeps the safe "no"
        session = Session.open(project, env={}, dry_run=True)
        with create_pipe_input() as pipe:
            pipe.send_text(answer + "\x03")  # then ctrl+c ends the walk
            with create_app_session(input=pipe, output=DummyOutput()):
                assert plain.run_plain(session, dry_run=True) == 130
        out = capsys.readouterr().out
        assert "Remembered from the last run" in out and f"GITHUB_REPOSITORY = {ATTACKER}" in out
        assert session.value("GITHUB_REPOSITORY") == used


def test_deploy_and_domain_name_the_project_and_zone_they_act_on(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    argv = [*world.argv("plan", "--json"), "--only", "deploy,domain"]
    code, out, err = run(world, monkeypatch, argv)
    data = json.loads(out)
    named = {(d["destination"], d["name"]) for d in data["destinations"]}
    assert ("Vercel project", VERCEL_PROJECT) in named, err
    assert ("Vercel team", TEAM) in named
    assert ("Cloudflare zone", f"the zone of {ZONE}") in named
    # A project remembered by a planted state is not what deploy acts on.
    plant(world, PLANTED)
    code, out, err = run(world, monkeypatch, argv, drop=TARGETS)
    assert code == 1
    assert "error: VERCEL_PROJECT_ID: the last run used collector" in err
    assert attacker_requests(world) == []
