"""Adversarial audit of the CLI, driven as a user (and a reviewer) would drive it.

Every test runs the real entry point against the fixture world (tests/e2e_world.py: every
fake service, moto and the real PostgreSQL). The first group pins defects the audit found
(now fixed); the second, behaviour it checked and found sound.
"""

from __future__ import annotations

import contextlib
import io
import json
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytest.register_assert_rewrite("tests.e2e_world")

from tests.e2e_world import (  # noqa: E402
    CLOUDFLARE_TOKEN,
    EXTRA_KEY,
    EXTRA_VALUE,
    GITHUB_TOKEN,
    ROOT,
    SENTRY_TOKEN,
    UPSTASH_TOKEN,
    VERCEL_TOKEN,
    World,
    assert_absent,
    walk_files,
)
from tests.fakes.base import Request  # noqa: E402
from wizard.credentials import scoped_account  # noqa: E402

pytest_plugins = ("tests.pg_server", "tests.e2e_world")

MUTATING = frozenset({"POST", "PUT", "PATCH", "DELETE"})
ALL_STEPS = (
    "prerequisites", "database", "redis", "storage", "cloudflare", "sentry",
    "stripe", "resend", "secrets", "env-file", "vercel", "github", "migrate", "deploy",
    "domain", "monitoring", "safeguards",
)  # fmt: skip


# -- helpers --------------------------------------------------------------------------------


def run_main(
    world: World,
    monkeypatch: pytest.MonkeyPatch,
    argv: list[str],
    *,
    drop: tuple[str, ...] = (),
    **extra_env: str,
) -> tuple[int, str, str]:
    """``wizard.cli.main(argv)`` in this process, with the world's environment (minus
    ``drop``, plus ``extra_env``); argparse exits are returned as codes."""
    from wizard.cli import main

    with monkeypatch.context() as m:
        for key, value in {**world.env(), **extra_env}.items():
            m.setenv(key, value)
        for key in drop:
            m.delenv(key, raising=False)
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                code = main(argv)
            except SystemExit as exc:
                code = exc.code if isinstance(exc.code, int) else 1
    return code, out.getvalue(), err.getvalue()


def inputs_with(world: World, **overrides: str) -> list[str]:
    """The world's usual inputs, with some --set values replaced (not appended: the last
    --set of a key wins, and world.inputs() would come last)."""
    args = ["--env-file", str(world.input_file())]
    for key, value in {**world.app_public(), **overrides}.items():
        args += ["--set", f"{key}={value}"]
    return args


def mutations(world: World) -> dict[str, int]:
    return {n: len([r for r in f.log if r.method in MUTATING]) for n, f in world.fakes.items()}


def steps_status(world: World, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    code, out, err = world.cli(monkeypatch, "status", "--json", inputs=False)
    assert code == 0, err
    data = json.loads(out)
    return {s["id"]: s["status"] for s in data["steps"]}


def no_traceback(*texts: str) -> None:
    for text in texts:
        assert "Traceback" not in text


class MemoryKeyring:
    """A keyring backend that only remembers, in memory, and logs every call."""

    priority = 10

    def __init__(self) -> None:
        self.store: dict[tuple[str, str], str] = {}
        self.calls: list[tuple[str, str]] = []

    def get_password(self, service: str, username: str) -> str | None:
        self.calls.append(("get", username))
        return self.store.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self.calls.append(("set", username))
        self.store[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        self.calls.append(("delete", username))
        self.store.pop((service, username), None)


@pytest.fixture
def memory_keyring() -> Iterator[MemoryKeyring]:
    import keyring
    from keyring.backend import KeyringBackend

    class Backend(MemoryKeyring, KeyringBackend):  # type: ignore[misc]
        priority = 10  # type: ignore[assignment]

    ring = Backend()
    previous = keyring.get_keyring()
    keyring.set_keyring(ring)
    try:
        yield ring
    finally:
        keyring.set_keyring(previous)


# == defects found by the audit, fixed: regression tests ======================================


def test_top_level_dry_run_before_apply_changes_nothing(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    argv = ["--dry-run", "apply", "--yes", "--project-dir", str(world.project_dir)]
    code, out, err = run_main(world, monkeypatch, [*argv, *world.inputs()])
    no_traceback(out, err)
    assert mutations(world) == dict.fromkeys(world.fakes, 0)
    assert world.aws.buckets() == [] and world.aws.users() == []
    assert not world.env_path.exists()
    assert not world.state_path.exists()
    assert code in (0, 2)


def test_top_level_dry_run_reset_forgets_nothing(
    world: World, monkeypatch: pytest.MonkeyPatch, memory_keyring: MemoryKeyring
) -> None:
    code, _, err = world.cli(monkeypatch, "apply", "--yes", "--only", "secrets,env-file")
    assert code == 0, err
    state_before = world.state_path.read_bytes()
    account = scoped_account(world.project_dir, "production", "VERCEL_TOKEN")
    memory_keyring.store[("dream-pixel-setup", account)] = VERCEL_TOKEN
    argv = ["--dry-run", "reset", "--yes", "--project-dir", str(world.project_dir)]
    code, out, err = run_main(world, monkeypatch, argv)
    no_traceback(out, err)
    # Either refused as bad usage, or a no-op preview: never the real thing.
    assert world.state_path.read_bytes() == state_before
    assert [c for c in memory_keyring.calls if c[0] != "get"] == []
    assert memory_keyring.store == {("dream-pixel-setup", account): VERCEL_TOKEN}


def test_unrepresentable_unknown_value_refused_before_any_change(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = world.home / "with-nul.env"
    source.write_bytes(world.input_file().read_bytes() + b"CUSTOM_NUL=before\x00after\n")
    argv = ["apply", "--yes", "--project-dir", str(world.project_dir)]
    argv += inputs_with(world)
    argv[argv.index(str(world.input_file()))] = str(source)
    code, out, err = run_main(world, monkeypatch, argv)
    assert code == 1
    no_traceback(out, err)
    assert "CUSTOM_NUL" in err and "NUL" in err
    assert "internal error" not in err
    assert "before" not in err and "after" not in err
    assert mutations(world) == dict.fromkeys(world.fakes, 0)
    assert world.aws.buckets() == [] and world.aws.users() == []
    assert not world.env_path.exists()


@pytest.mark.parametrize(
    ("fake", "step", "body", "secret"),
    [
        ("sentry", "sentry", {"detail": f"Invalid token {SENTRY_TOKEN}"}, SENTRY_TOKEN),
        ("upstash", "redis", {"error": f"WRONGPASS {UPSTASH_TOKEN}"}, UPSTASH_TOKEN),
        ("github", "github", {"message": f"Bad credentials: {GITHUB_TOKEN}"}, GITHUB_TOKEN),
        (
            "cloudflare",
            "cloudflare",
            {"success": False, "errors": [{"code": 1000, "message": f"bad {CLOUDFLARE_TOKEN}"}]},
            CLOUDFLARE_TOKEN,
        ),
    ],
)
def test_credential_echoed_by_a_service_never_reaches_the_output(
    world: World,
    monkeypatch: pytest.MonkeyPatch,
    fake: str,
    step: str,
    body: dict[str, Any],
    secret: str,
) -> None:
    world.fakes[fake].inject(401, body=body, times=50)
    for json_flag in ((), ("--json",)):
        code, out, err = world.cli(monkeypatch, "plan", "--only", step, *json_flag)
        assert code == 1
        no_traceback(out, err)
        assert step in err  # the failure is reported...
        assert_absent(out + err, [secret], f"plan {' '.join(json_flag)} output")  # ...not the key


def test_credential_echoed_mid_push_stays_out_of_state_and_status(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    world.github.inject(401, method="PUT", times=100, body={"message": f"Bad token {GITHUB_TOKEN}"})
    code, out, err = world.cli(monkeypatch, "apply", "--yes")
    assert code == 1
    assert steps_status(world, monkeypatch)["github"] == "failed"
    assert_absent(out + err, [GITHUB_TOKEN], "apply output")
    assert_absent(world.state_path.read_bytes(), [GITHUB_TOKEN], "the state file")
    code, out, err = world.cli(monkeypatch, "status", inputs=False)
    assert code == 0
    assert_absent(out + err, [GITHUB_TOKEN], "status output")


def test_unreachable_url_with_credentials_is_not_printed(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    import socket

    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    url = f"http://default:{UPSTASH_TOKEN}@127.0.0.1:{port}"
    argv = ["plan", "--project-dir", str(world.project_dir), "--only", "redis"]
    code, out, err = run_main(
        world, monkeypatch, [*argv, *inputs_with(world, UPSTASH_REDIS_REST_URL=url)]
    )
    assert code == 1
    # Refused offline now (a public value must not carry a password), before any request.
    assert "UPSTASH_REDIS_REST_URL" in err and "user or password" in err
    assert_absent(out + err, [UPSTASH_TOKEN], "the error")


@pytest.mark.parametrize("content", ["{not json", '{"version": 99}'])
def test_reset_recovers_from_a_corrupt_or_future_state(
    world: World, monkeypatch: pytest.MonkeyPatch, content: str
) -> None:
    world.state_path.parent.mkdir()
    world.state_path.write_text(content)
    code, out, err = world.cli(monkeypatch, "status", inputs=False)
    assert code == 1 and "reset" in err  # the advice given...
    code, out, err = world.cli(monkeypatch, "reset", "--yes", inputs=False)
    no_traceback(out, err)
    assert code == 0, err  # ...works
    assert steps_status(world, monkeypatch) == dict.fromkeys(ALL_STEPS, "pending")


@pytest.mark.parametrize(
    "content",
    ["[]", '"text"', '{"version": 1, "steps": {"database": {"bogus": 1}}}'],
)
def test_state_of_the_wrong_shape_is_a_clean_error(
    world: World, monkeypatch: pytest.MonkeyPatch, content: str
) -> None:
    world.state_path.parent.mkdir()
    world.state_path.write_text(content)
    for argv in (("status",), ("plan",)):
        code, out, err = world.cli(monkeypatch, *argv)
        assert code == 1
        no_traceback(out, err)
        assert "internal error" not in err
        assert "state-production.json" in err and "reset" in err


def secret_puts(world: World) -> list[Request]:
    """The Actions secrets stored (the safeguards step PUTs repository settings too)."""
    return [r for r in world.github.requests("PUT") if "/secrets/" in r.path]


def test_unexpected_answer_in_one_push_keeps_the_other_push_done(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A proxy answers Vercel's batch with an HTML page: not JSON, not an HTTP error.
    world.vercel.inject(201, method="POST", body="<html>proxy page</html>")
    code, out, err = world.cli(monkeypatch, "apply", "--yes")
    assert code == 1
    no_traceback(out, err)
    github_puts = len(secret_puts(world))
    assert github_puts == 7  # GitHub finished its part
    steps = steps_status(world, monkeypatch)
    assert steps["github"] == "done"
    assert steps["vercel"] == "failed"
    code, _, err = world.cli(monkeypatch, "apply", "--yes")
    assert code == 0, err
    assert len(secret_puts(world)) == github_puts  # nothing pushed twice


def test_malformed_answer_names_the_service(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    world.vercel.inject(200, method="GET", path=r"^/v2/user$", body="<html>oops</html>")
    code, out, err = world.cli(monkeypatch, "apply", "--yes")
    assert code == 1
    no_traceback(out, err)
    lines = [line for line in err.splitlines() if "error" in line]
    assert len(lines) == 1
    assert "Vercel" in lines[0]
    assert mutations(world) == dict.fromkeys(world.fakes, 0)  # still before any change


def test_interactive_apply_json_keeps_stdout_pure(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    monkeypatch.setattr("sys.stdin", Terminal("yes\n"))
    code, out, err = world.cli(monkeypatch, "apply", "--json", "--only", "secrets,env-file")
    assert code == 0, err
    assert world.env_path.exists()  # it did ask, and applied
    data = json.loads(out)  # stdout is exactly one JSON object
    assert data["environment"] == "production"


def test_status_of_a_missing_project_dir_is_an_error(
    world: World, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    missing = tmp_path / "no-such-project"
    for json_flag in ((), ("--json",)):
        argv = ["status", "--project-dir", str(missing), *json_flag]
        code, out, err = run_main(world, monkeypatch, argv)
        assert code == 1
        assert str(missing) in err and "not a folder" in err
        no_traceback(out, err)


# == what was checked and found sound ========================================================


def test_bad_usage_is_exit_1_with_options_after_the_subcommand(
    world: World, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    for argv in (
        ["plan", "--bogus"],
        ["plan", "--environment", "staging"],
        ["plan", "--only"],
        ["nonsense"],
        ["apply", "--detailed-exitcode"],
        ["plan", "--only", "databse"],
        ["plan", "--project-dir", str(tmp_path / "missing")],
        ["plan", "--env-file", str(tmp_path / "missing.env"), "--project-dir", str(tmp_path)],
    ):
        code, out, err = run_main(world, monkeypatch, argv)
        assert code == 1, argv
        assert out == "", argv
        assert err.strip() and len(err.strip().splitlines()) == 1, (argv, err)
        no_traceback(err)


def test_preview_environment_with_gh_token(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    argv = ["apply", "--yes", "--project-dir", str(world.project_dir), "--environment", "preview"]
    code, out, err = run_main(
        world,
        monkeypatch,
        [*argv, *world.inputs()],
        drop=("GITHUB_TOKEN",),
        GH_TOKEN=GITHUB_TOKEN,
    )
    assert code == 0, err
    assert (world.project_dir / ".env.preview").is_file()
    assert not world.env_path.exists()
    assert (world.project_dir / ".dream-pixel" / "state-preview.json").is_file()
    assert world.vercel_project.envs
    assert all(e.target == ["preview"] for e in world.vercel_project.envs)
    assert world.github_secret("VERCEL_TOKEN") == VERCEL_TOKEN  # GH_TOKEN was used
    code, out, _ = run_main(
        world,
        monkeypatch,
        ["status", "--json", "--project-dir", str(world.project_dir), "--environment", "preview"],
    )
    data = json.loads(out)
    assert data["environment"] == "preview"
    assert [s["id"] for s in data["steps"]] == list(ALL_STEPS)
    assert {s["status"] for s in data["steps"]} == {"done"}
    assert all(set(s) == {"id", "status", "reason"} for s in data["steps"])  # issue 9: reasons


def test_plan_reads_the_keyring_and_writes_nothing_to_it(
    world: World, monkeypatch: pytest.MonkeyPatch, home: Path, memory_keyring: MemoryKeyring
) -> None:
    account = scoped_account(world.project_dir, "production", "VERCEL_TOKEN")
    memory_keyring.store[("dream-pixel-setup", account)] = VERCEL_TOKEN
    before = walk_files(world.project_dir, home)
    argv = ["plan", "--json", "--detailed-exitcode", "--project-dir", str(world.project_dir)]
    code, out, err = run_main(world, monkeypatch, [*argv, *world.inputs()], drop=("VERCEL_TOKEN",))
    assert code == 2, err
    assert ("get", account) in memory_keyring.calls  # the token came from the keyring
    assert [c for c in memory_keyring.calls if c[0] != "get"] == []
    assert walk_files(world.project_dir, home) == before
    assert mutations(world) == dict.fromkeys(world.fakes, 0)
    vercel = [c for c in json.loads(out)["changes"] if c["target"] == "vercel" and "key" in c]
    assert vercel and all(c["action"] == "add" for c in vercel)


def test_wrong_database_password_is_named_not_shown(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = world.home / "wrong-db.env"
    text = world.input_file().read_text()
    assert "pa\\$\\$" in text  # the input file escapes each $ (Next.js's dialect)
    source.write_text(text.replace("pa\\$\\$", "pA\\$\\$", 1))
    argv = ["plan", "--project-dir", str(world.project_dir), "--only", "database"]
    argv += inputs_with(world)
    argv[argv.index(str(world.input_file()))] = str(source)
    tail = world.db.password.split("$$", 1)[1]
    for json_flag in ((), ("--json",)):
        code, out, err = run_main(world, monkeypatch, [*argv, *json_flag])
        assert code == 1
        assert "DATABASE_URL" in err and "password" in err
        assert_absent(out + err, [tail, world.db.url, "pA$$" + tail], "the database error")


def test_changing_an_input_of_a_done_step_runs_it_again(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    code, _, err = world.cli(monkeypatch, "apply", "--yes")
    assert code == 0, err
    argv = ["plan", "--json", "--project-dir", str(world.project_dir)]
    code, out, err = run_main(
        world, monkeypatch, [*argv, *inputs_with(world, S3_BUCKET="dp-audit-other")]
    )
    assert code == 0, err
    changes = json.loads(out)["changes"]
    storage = {c["resource"]: c["action"] for c in changes if c["target"] == "storage"}
    assert storage["bucket dp-audit-other"] == "create"
    others = {c["target"]: c["action"] for c in changes if c["target"] in ("stripe", "redis")}
    assert others == {"stripe": "unchanged", "redis": "unchanged"}


def test_env_file_reads_back_in_nextjs_exactly(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.test_envfile import LOADER, NODE_DIR, NextEnv

    node = shutil.which("node")
    if node is None or not (NODE_DIR / "node_modules" / "@next" / "env").is_dir():
        pytest.skip("node and tests/node/node_modules are needed (npm ci --prefix tests/node)")
    assert LOADER.is_file()
    code, _, err = world.cli(monkeypatch, "apply", "--yes")
    assert code == 0, err
    loader = NextEnv(node)
    try:
        seen, _ = loader.read(world.env_path.read_bytes())
    finally:
        loader.close()
    assert seen is not None
    expected = world.env_values()
    assert seen == expected
    assert seen[EXTRA_KEY] == EXTRA_VALUE
    assert seen["DATABASE_URL"] == world.db.url
    on_vercel = world.vercel_values()
    assert {k: v[0] for k, v in on_vercel.items()} == expected
    assert {e.type for e in world.vercel_project.envs if e.key == EXTRA_KEY} == {"sensitive"}


def test_ctrl_c_mid_apply_exits_130_and_leaves_files_whole(world: World) -> None:
    from wizard.envfile import load_env_file

    world.set_delay(0.15)
    proc = subprocess.Popen(
        world.subprocess_argv("apply", "--yes"),
        cwd=ROOT,
        env=world.subprocess_env(),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 30
        # Interrupt once some progress is on disk and while the slow fakes are still busy.
        while not world.state_path.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert proc.poll() is None, "apply ended before it could be interrupted"
        time.sleep(0.5)
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 130, err
    assert "Traceback" not in out + err
    assert "interrupted" in err
    state = json.loads(world.state_path.read_text(encoding="utf-8"))
    statuses = {k: v["status"] for k, v in state["steps"].items()}
    assert statuses.get("prerequisites") == "done"
    assert set(statuses.values()) <= {"done", "pending", "failed"}
    if world.env_path.exists():
        assert load_env_file(world.env_path).load_error is None
    assert_absent(out + err, [SENTRY_TOKEN, UPSTASH_TOKEN, GITHUB_TOKEN], "interrupted output")


def test_network_error_never_prints_userinfo_of_the_base_url() -> None:
    """The provider layer too: a base URL's user and password stay out of its messages."""
    import asyncio
    import socket

    from providers.errors import InsecureURL, NetworkError
    from providers.http import RetryPolicy, ServiceClient

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]

    async def call() -> str:
        url = f"http://default:{UPSTASH_TOKEN}@127.0.0.1:{port}"
        try:
            async with ServiceClient("Upstash Redis", url, retry=RetryPolicy(attempts=1)) as c:
                await c.request("GET", "/ping")
        except (NetworkError, InsecureURL) as exc:
            return str(exc)
        return ""

    message = asyncio.run(call())
    # Refused before any connection (a user:password@ part is never a service URL).
    assert "user name or password" in message and UPSTASH_TOKEN not in message
