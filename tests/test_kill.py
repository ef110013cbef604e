"""kill -9 during a real `dream-pixel-setup apply`: what is on disk must stay whole, and the
next apply must finish with exactly one of everything."""

from __future__ import annotations

import fnmatch
import json
import os
import random
import signal
import stat
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import pytest

pytest.register_assert_rewrite("tests.e2e_world")

from tests.e2e_world import ROOT, World  # noqa: E402
from tests.fakes.base import Reply, Request  # noqa: E402
from wizard.atomic import TMP_SUFFIX  # noqa: E402

pytest_plugins = ("tests.pg_server", "tests.e2e_world")

# The names Next.js (and dotenv tooling) would load as env files.
ENV_FILE_NAMES = (".env", ".env.local", ".env.production", ".env.production.local")


def start(world: World) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        world.subprocess_argv("apply", "--yes"),
        cwd=ROOT,
        env=world.subprocess_env(),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )


def kill9(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=10)


def assert_whole(world: World, note: str) -> None:
    """What a kill may leave: the old file or the new one, never half of either."""
    from wizard.envfile import load_env_file

    project = world.project_dir
    env = world.env_path
    if env.exists():
        assert stat.S_IMODE(env.stat().st_mode) == 0o600, note
        text = env.read_text(encoding="utf-8")
        assert text.endswith("\n"), f"{note}: the env file ends in a partial line"
        doc = load_env_file(env)
        assert doc.load_error is None, note
        values = doc.values()
        # Each value present is whole: complete lines, and each the right shape.
        for key, value in values.items():
            assert value, f"{note}: {key} is empty"
        expected = {**world.app_secrets(), **world.app_public()}
        for key, value in values.items():
            if key in expected:
                assert value == expected[key], f"{note}: {key} differs"
        if "STRIPE_WEBHOOK_SECRET" in values:
            assert len(values["STRIPE_WEBHOOK_SECRET"]) == len("whsec_") + 32, note
        if "AWS_SECRET_ACCESS_KEY" in values:
            assert "AWS_ACCESS_KEY_ID" in values, f"{note}: a key secret without its id"
            assert len(values["AWS_SECRET_ACCESS_KEY"]) == 40, note
    if world.state_path.exists():
        data = json.loads(world.state_path.read_text(encoding="utf-8"))
        assert data["environment"] == "production", note
    # No stray file a loader would take for an env file. A kill inside write_atomic may
    # leave its temp: only under the wizard's own suffix, 0600, and git-ignored.
    patterns = ignore_patterns(world)
    for path in project.rglob("*"):
        if not (path.name.startswith(".env") and path.is_file()):
            continue
        if path.name in ENV_FILE_NAMES:
            continue
        assert path.name.endswith(TMP_SUFFIX), f"{note}: stray {path.name}"
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, f"{note}: {path.name}"
        assert any(fnmatch.fnmatch(path.name, p) for p in patterns), f"{note}: {path.name}"


def ignore_patterns(world: World) -> list[str]:
    gitignore = world.project_dir / ".gitignore"
    lines = gitignore.read_text().splitlines() if gitignore.exists() else []
    return [p.strip() for p in lines if p.strip() and not p.startswith(("#", "!"))]


def requests_seen(world: World) -> int:
    return sum(len(fake.log) for fake in world.fakes.values())


def started_talking(world: World, proc: subprocess.Popen[bytes], before: int) -> Callable[[], bool]:
    return lambda: requests_seen(world) > before or proc.poll() is not None


def test_kill_at_random_moments_then_apply_finishes_once(world: World) -> None:
    seed = int(os.environ.get("E2E_KILL_SEED") or time.time_ns() % 1_000_000)
    rng = random.Random(seed)
    world.set_delay(0.05)  # from its first request to its end, an apply spans ~1.5 s
    kills, with_env_file = 6, 0
    for slot in range(kills):
        before = requests_seen(world)
        proc = start(world)
        # Timed from the first request, so interpreter start-up does not eat the window;
        # one random moment in each quarter second of 0-1.5 s covers the whole run.
        wait_for(started_talking(world, proc, before))
        wait = (slot + rng.random()) * 1.5 / kills
        time.sleep(wait)
        kill9(proc)
        with_env_file += world.env_path.exists()
        assert_whole(world, f"seed {seed}, kill {slot + 1} at {wait:.2f} s")
    assert with_env_file >= 1

    world.set_delay(0)
    final = world.run_subprocess("apply", "--yes")
    note = f"seed {seed}: {final.stderr[-1500:]}"
    assert final.returncode == 0, note
    assert "Traceback" not in final.stderr
    assert_whole(world, f"seed {seed}, after the final apply")
    env = world.env_values()
    [endpoint] = world.stripe.endpoints.values()
    assert env["STRIPE_WEBHOOK_SECRET"] == endpoint["secret"], note
    keys = world.aws.access_keys()
    assert keys == [env["AWS_ACCESS_KEY_ID"]], note
    assert world.aws.secret_of(env["AWS_ACCESS_KEY_ID"]) == env["AWS_SECRET_ACCESS_KEY"]
    assert {k: v for k, v in world.vercel_values().items()} == {k: [v] for k, v in env.items()}
    assert world.github_secret("SENTRY_AUTH_TOKEN") == env["SENTRY_AUTH_TOKEN"]


def slow_route(world: World, method: str, path: str, seconds: float) -> None:
    """Delay only the matching requests (they are logged before the wait)."""
    fake = world.stripe
    real: Callable[[Request], Reply] = fake._dispatch

    def dispatch(req: Request) -> Reply:
        if req.method == method and req.path == path:
            time.sleep(seconds)
        return real(req)

    fake._dispatch = dispatch  # type: ignore[method-assign]


def wait_for(condition: Callable[[], bool], timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


def test_kill_after_stripe_created_the_endpoint_recovers_its_secret(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    slow_route(world, "POST", "/v1/webhook_endpoints", 0.6)
    proc = start(world)
    try:
        wait_for(lambda: bool(world.stripe.requests("POST", r"^/v1/webhook_endpoints$")))
    finally:
        kill9(proc)  # Stripe is still working on the create: its answer will find no one
    wait_for(lambda: bool(world.stripe.endpoints))
    assert_whole(world, "killed during the webhook create")
    assert "STRIPE_WEBHOOK_SECRET" not in world.env_values()

    code, _, err = world.cli(monkeypatch, "apply", "--yes")
    assert code == 0, err
    [endpoint] = world.stripe.endpoints.values()
    assert world.env_values()["STRIPE_WEBHOOK_SECRET"] == endpoint["secret"]


class Crash(BaseException):
    """Stands for kill -9: nothing after it runs (no except/finally in the wizard catches it)."""


def test_crash_right_after_the_access_key_is_made_leaves_one_key(
    world: World, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from providers.s3 import IamUser

    real = IamUser.create_access_key

    def crash_after(self: IamUser) -> tuple[str, str]:
        real(self)
        raise Crash

    with monkeypatch.context() as m:
        m.setattr(IamUser, "create_access_key", crash_after)
        with pytest.raises(Crash):
            world.cli(monkeypatch, "apply", "--yes")
    assert len(world.aws.access_keys()) == 1
    assert "AWS_SECRET_ACCESS_KEY" not in world.env_values()

    code, _, err = world.cli(monkeypatch, "apply", "--yes")
    assert code == 0, err
    env = world.env_values()
    assert world.aws.access_keys() == [env["AWS_ACCESS_KEY_ID"]]


def test_temp_files_left_by_a_kill_are_ignored_then_removed(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    code, _, err = world.cli(monkeypatch, "apply", "--yes")
    assert code == 0, err
    # What write_atomic leaves when killed before its rename: one long ago, one just now.
    secret_text = world.env_path.read_bytes()
    old = world.project_dir / f"{world.env_path.name}.0123456789ab{TMP_SUFFIX}"
    fresh = world.project_dir / f"{world.env_path.name}.ba9876543210{TMP_SUFFIX}"
    for stray in (old, fresh):
        stray.write_bytes(secret_text)
        stray.chmod(0o600)
    an_hour_ago = time.time() - 3600
    os.utime(old, (an_hour_ago, an_hour_ago))

    code, _, err = world.cli(monkeypatch, "apply", "--yes")
    assert code == 0, err
    assert not old.exists()  # a killed run's leftover, with every secret: removed
    # One that may belong to a writer still running is left, but git never sees it.
    assert any(fnmatch.fnmatch(fresh.name, p) for p in ignore_patterns(world))
    assert_whole(world, "after the rerun")


def test_crash_after_the_new_key_reached_the_env_file_stays_in_provision_mode(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    from wizard.engine import Session

    real = Session._persist_provided

    def crash_after_secret(self: Session, key: str, value: str) -> None:
        real(self, key, value)
        if key == "AWS_SECRET_ACCESS_KEY":
            raise Crash

    with monkeypatch.context() as m:
        m.setattr(Session, "_persist_provided", crash_after_secret)
        with pytest.raises(Crash):
            world.cli(monkeypatch, "apply", "--yes")
    key_id = world.env_values()["AWS_ACCESS_KEY_ID"]
    assert world.aws.access_keys() == [key_id]

    code, _, err = world.cli(monkeypatch, "apply", "--yes")
    assert code == 0, err
    assert world.aws.access_keys() == [key_id]
    assert world.state().get("choices", {}).get("storage_mode") in (None, "provision")
    code, out, err = world.cli(monkeypatch, "plan", "--json")
    storage = [c for c in json.loads(out)["changes"] if c["target"] == "storage"]
    assert [c["action"] for c in storage] == ["unchanged"], storage


def test_crash_while_ignoring_the_env_file_leaves_no_secret_unignored(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    from wizard.steps import env_file

    real = env_file.ensure_ignored

    def crash_on_write(project_dir: Path, *, dry_run: bool) -> list[str]:
        if not dry_run:
            raise Crash
        return real(project_dir, dry_run=dry_run)

    with monkeypatch.context() as m:
        m.setattr(env_file, "ensure_ignored", crash_on_write)
        with pytest.raises(Crash):
            # No step before env-file provides a value: the env-file step writes first.
            world.cli(monkeypatch, "apply", "--yes", "--only", "secrets,env-file")
    if world.env_path.exists():
        assert any(fnmatch.fnmatch(world.env_path.name, p) for p in ignore_patterns(world))
