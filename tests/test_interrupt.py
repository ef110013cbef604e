"""ctrl+c and SIGTERM at any moment of a real `apply` (issue 12, point 13): exit 130, one
line, no traceback, and whatever is on disk still whole."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

pytest.register_assert_rewrite("tests.clone_world")

from tests.clone_world import ONLY, Clone  # noqa: E402
from tests.fakes.base import FakeService, Reply, Request  # noqa: E402
from wizard.envfile import load_env_file  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
pytest_plugins = ("tests.clone_world",)
SIGNALS = {"SIGINT": signal.SIGINT, "SIGTERM": signal.SIGTERM}


@pytest.fixture
def release() -> Iterator[threading.Event]:
    """Stalled fake requests wait on this; set at the end so no server thread lingers."""
    event = threading.Event()
    yield event
    event.set()


def stall(fake: FakeService, method: str, path: str, release: threading.Event) -> None:
    """The matching request is logged, then never answered (until the test ends)."""
    real: Callable[[Request], Reply] = fake._dispatch

    def dispatch(req: Request) -> Reply:
        if req.method == method and req.path.startswith(path):
            release.wait(60)
        return real(req)

    fake._dispatch = dispatch  # type: ignore[method-assign]


def start(clone: Clone, *options: str) -> subprocess.Popen[str]:
    env = {**os.environ, **clone.env(), "PYTHONPATH": str(ROOT)}
    argv = [
        sys.executable,
        *options,
        "-m",
        "wizard",
        "apply",
        "--yes",
        "--project-dir",
        str(clone.dir),
    ]
    argv += ["--only", ONLY, "--env-file", str(clone.inputs), "--set", "SENTRY_ORG=acme"]
    argv += ["--rotate", "NEXTAUTH_SECRET,JWT_SECRET"]  # so there is something to push
    return subprocess.Popen(
        argv,
        cwd=ROOT,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )


def wait_for(condition: Callable[[], bool], proc: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + 30
    while not condition():
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


def assert_interrupted(
    clone: Clone, proc: subprocess.Popen[str], note: str, err_before: str = ""
) -> None:
    try:
        _, err = proc.communicate(timeout=15)
    finally:
        if proc.poll() is None:
            proc.kill()
    err = err_before + err
    err_lines = [line for line in err.splitlines() if not line.startswith("import time:")]
    err = "\n".join(err_lines)
    assert proc.returncode == 130, f"{note}: exit {proc.returncode}\n{err}"
    assert "Traceback" not in err and "Exception ignored" not in err, f"{note}:\n{err}"
    assert err_lines and "interrupted" in err_lines[-1], f"{note}:\n{err}"
    state = clone.dir / ".dream-pixel" / "state-production.json"
    if state.exists():
        assert json.loads(state.read_text())["environment"] == "production", note
    env_file = clone.dir / ".env.production"
    if env_file.exists():
        assert load_env_file(env_file).load_error is None, note


@pytest.mark.parametrize("name", SIGNALS)
@pytest.mark.parametrize(
    ("where", "method", "path"),
    [
        ("vercel", "GET", "/v2/user"),  # the live checks, before any change
        ("vercel", "POST", "/v10/projects/"),  # the push, after the env file was written
        ("github", "PUT", "/repos/"),  # a secret being stored
    ],
)
def test_a_signal_while_a_request_hangs_ends_the_run_cleanly(
    clone: Clone, release: threading.Event, name: str, where: str, method: str, path: str
) -> None:
    fake = clone.vercel if where == "vercel" else clone.github
    stall(fake, method, path, release)
    proc = start(clone)
    wait_for(lambda: bool(fake.requests(method, "^" + path)), proc)
    time.sleep(0.2)  # well inside the wait for the answer
    os.kill(proc.pid, SIGNALS[name])
    assert_interrupted(clone, proc, f"{name} during {method} {path}")
    if method != "GET":
        # Steps that finished before stay recorded as done.
        state = json.loads((clone.dir / ".dream-pixel" / "state-production.json").read_text())
        assert state["steps"]["env-file"]["status"] == "done"


@pytest.mark.parametrize("name", SIGNALS)
@pytest.mark.parametrize(
    "marker",
    [
        "providers.errors",  # still importing the CLI (python -m wizard)
        "wizard.catalogue",  # opening the session: catalogue, state, env file
        "httpx",  # about to start the live checks
        "providers.github",  # the checks under way
    ],
)
def test_a_signal_at_any_moment_ends_the_run_cleanly(
    clone: Clone, release: threading.Event, name: str, marker: str
) -> None:
    """`-X importtime` reports each module as its import ends: a moment in the run's life,
    from the CLI's own imports to the first requests, observed rather than guessed."""
    clone.vercel.delay = clone.github.delay = 0.2
    # The run cannot finish before the signal lands, however late a loaded machine delivers
    # it (it would rightly exit 0: a signal after the work is done is ignored).
    stall(clone.vercel, "GET", "/v2/user", release)
    proc = start(clone, "-X", "importtime")
    assert proc.stderr is not None
    lines: list[str] = []
    for line in proc.stderr:
        lines.append(line)
        if line.rstrip().endswith(" " + marker):
            break
    os.kill(proc.pid, SIGNALS[name])
    assert_interrupted(clone, proc, f"{name} after importing {marker}", "".join(lines))
