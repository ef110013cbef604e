"""One run at a time (issue 12, point 3): the lock per project and environment, and state
writes that merge with what another run wrote, through the real CLI against the stand-ins."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest

pytest.register_assert_rewrite("tests.e2e_world")

from tests.e2e_world import ROOT, World  # noqa: E402

pytest_plugins = ("tests.pg_server", "tests.e2e_world")


def lock_file(world: World) -> Path:
    return world.project_dir / ".dream-pixel" / "lock-production"


def start_apply(world: World) -> subprocess.Popen[str]:
    return subprocess.Popen(
        world.subprocess_argv("apply", "--yes"),
        cwd=ROOT,
        env=world.subprocess_env(),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def finish(proc: subprocess.Popen[str], timeout: float = 120) -> tuple[str, str]:
    try:
        return proc.communicate(timeout=timeout)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def wait_for_holder(world: World, pid: int, timeout: float = 30) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            note: dict[str, Any] = json.loads(lock_file(world).read_text())
        except (OSError, ValueError):
            note = {}
        if note.get("pid") == pid:
            return note
        time.sleep(0.05)
    raise AssertionError("the apply never took the lock")


def statuses(world: World) -> dict[str, str]:
    return {k: v["status"] for k, v in world.state()["steps"].items()}


def test_two_applies_at_once_one_runs_and_the_other_names_it(world: World) -> None:
    # Slow stand-ins: the winner outlasts the few seconds the loser waits.
    world.set_delay(0.4)
    procs = [start_apply(world), start_apply(world)]
    results = [finish(p) for p in procs]
    codes = [p.returncode for p in procs]
    assert sorted(codes) == [0, 1], results
    winner = codes.index(0)
    loser_out, loser_err = results[1 - winner]
    errors = [line for line in loser_err.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, loser_err
    assert f"pid {procs[winner].pid}" in errors[0]
    assert "`dream-pixel-setup apply`" in errors[0] and "since" in errors[0]
    assert "waiting" in loser_err  # it waited briefly first
    assert "Traceback" not in loser_out + loser_err
    # One run's work only: one value per key, the same in the env file and on Vercel.
    on_vercel = world.vercel_values()
    assert all(len(values) == 1 for values in on_vercel.values()), on_vercel
    assert {k: v[0] for k, v in on_vercel.items()} == world.env_values()
    assert len(world.aws.access_keys()) == 1
    assert not lock_file(world).exists()  # the winner let go


def test_a_holder_killed_with_sigkill_leaves_a_lock_the_next_run_takes_over(
    world: World,
) -> None:
    world.set_delay(0.3)
    proc = start_apply(world)
    try:
        note = wait_for_holder(world, proc.pid)
        assert note["command"] == "dream-pixel-setup apply"
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        finish(proc)
    assert lock_file(world).exists()  # left behind, naming a dead pid
    world.set_delay(0)
    started = time.monotonic()
    again = world.run_subprocess("apply", "--yes")
    assert again.returncode == 0, again.stderr
    assert "waiting" not in again.stderr  # the leftover file is not taken for a holder
    assert time.monotonic() - started < 30
    assert set(statuses(world).values()) == {"done"}
    assert not lock_file(world).exists()


def test_apply_refuses_while_the_wizard_holds_the_lock(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The interactive wizard holds the lock while it is open: an apply started meanwhile
    is refused (the app itself is replaced by the apply it races)."""
    import screens.app

    seen: dict[str, subprocess.CompletedProcess[str]] = {}

    def app_open_meanwhile(session: object, *, dry_run: bool) -> int:
        seen["apply"] = world.run_subprocess("apply", "--yes")
        return 0

    monkeypatch.setattr(screens.app, "run_app", app_open_meanwhile)
    monkeypatch.setattr("wizard.cli._has_terminal", lambda: True)  # the app needs one
    from wizard.cli import main

    with monkeypatch.context() as m:
        for key, value in world.env().items():
            m.setenv(key, value)
        code = main(["--project-dir", str(world.project_dir)])
    assert code == 0
    proc = seen["apply"]
    assert proc.returncode == 1
    assert f"pid {os.getpid()}" in proc.stderr
    assert "`dream-pixel-setup (the wizard)`" in proc.stderr
    assert world.writes() == {name: [] for name in world.fakes}
    assert not world.env_path.exists()
    # A dry-run wizard takes no lock: an apply runs beside it.
    with monkeypatch.context() as m:
        for key, value in world.env().items():
            m.setenv(key, value)
        code = main(["--project-dir", str(world.project_dir), "--dry-run"])
    assert code == 0
    assert seen["apply"].returncode == 0, seen["apply"].stderr


def test_a_session_opened_before_an_apply_does_not_erase_its_steps(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    from wizard.engine import Session

    stale = Session.open(world.project_dir, env=world.env())  # e.g. a TUI left open
    code, _, err = world.cli(monkeypatch, "apply", "--yes")
    assert code == 0, err
    after_apply = world.state()
    assert set(statuses(world).values()) == {"done"}
    stale.mark_skipped("sentry", "later")  # a newer decision of its own...
    stale.save()  # ...and the save on quit
    merged = world.state()
    expected = {k: "done" for k in after_apply["steps"]} | {"sentry": "skipped"}
    assert statuses(world) == expected
    # The apply's records survive whole, memory included (the IAM key it created).
    for step_id, record in after_apply["steps"].items():
        if step_id != "sentry":
            assert merged["steps"][step_id] == record


def test_a_wizard_quit_after_an_apply_keeps_the_applied_steps(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The TUI loaded the state before an apply finished; quitting saves without
    erasing what the apply recorded."""
    import asyncio

    from screens.app import WizardApp
    from wizard.engine import Session

    monkeypatch.setattr(
        "wizard.steps.prerequisites.local_checks", lambda _ctx: {"git on PATH": True}
    )
    session = Session.open(world.project_dir, env=world.env())
    app = WizardApp(session)
    applied: dict[str, Any] = {}

    async def script() -> None:
        async with app.run_test(size=(100, 30)) as pilot:
            await pilot.pause()
            done = await asyncio.to_thread(world.run_subprocess, "apply", "--yes")
            assert done.returncode == 0, done.stderr
            applied.update(world.state()["steps"])
            await pilot.press("ctrl+q")
            await pilot.pause()

    asyncio.run(script())
    assert app.return_value == 0
    assert set(statuses(world).values()) == {"done"}
    assert world.state()["steps"] == applied  # the quit's save erased nothing


def test_reset_waits_for_a_running_apply_then_refuses(world: World) -> None:
    world.set_delay(0.4)
    proc = start_apply(world)
    try:
        wait_for_holder(world, proc.pid)
        reset = world.run_subprocess("reset", "--yes", inputs=False)
    finally:
        _, err = finish(proc)
    assert reset.returncode == 1
    assert f"pid {proc.pid}" in reset.stderr and "`dream-pixel-setup apply`" in reset.stderr
    assert proc.returncode == 0, err
    assert set(statuses(world).values()) == {"done"}  # the apply's progress was not forgotten


def test_a_holder_note_is_shown_only_in_its_expected_shape() -> None:
    from wizard.lock import describe_holder

    assert describe_holder({}) == "a run that is still starting (no pid recorded yet)"
    hostile = {"pid": 7, "command": "apply\x1b[2J", "since": "yesterday"}
    assert describe_holder(hostile) == "pid 7"
    note = {"pid": 7, "command": "dream-pixel-setup apply", "since": "2020-01-02T03:04:05+00:00"}
    assert (
        describe_holder(note) == "pid 7 (`dream-pixel-setup apply`, since 2020-01-02 03:04:05 UTC)"
    )
