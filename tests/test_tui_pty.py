"""The installed ``dream-pixel-setup`` in a real pseudo-terminal (pexpect): what a person at
a terminal sees when the app ends, and what happens when the terminal goes away."""

from __future__ import annotations

import json
import os
import re
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pexpect
import pytest

from wizard.catalogue import STEP_IDS

BINARY = Path(sys.executable).with_name("dream-pixel-setup")
ANSI = re.compile(
    r"\x1b(\[[0-9;?<>=]*[ -/]*[@-~]|\][^\x07\x1b]*(\x07|\x1b\\)|[()][0-9A-Za-z]|[=>NMc78])"
)


@pytest.fixture(name="project")
def project_fixture(tmp_path: Path) -> Path:
    p = tmp_path / "app"
    p.mkdir()
    (p / "package.json").write_text("{}\n")
    return p


def spawn(project: Path, *args: str, size: tuple[int, int] = (24, 80)) -> pexpect.spawn:
    env = dict(os.environ, TERM="xterm-256color", COLUMNS=str(size[1]), LINES=str(size[0]))
    child = pexpect.spawn(
        str(BINARY),
        ["--project-dir", str(project), *args],
        env=env,
        dimensions=size,
        encoding="utf-8",
        codec_errors="replace",
        timeout=30,
    )
    return child


@pytest.fixture(name="child_of")
def child_of_fixture() -> Iterator[list[pexpect.spawn]]:
    children: list[pexpect.spawn] = []
    yield children
    for child in children:
        if not child.closed:
            child.terminate(force=True)


def wait_exit(pid: int, limit: float) -> float | None:
    """Seconds until ``pid`` (our child) ended, or None if it is still alive at ``limit``."""
    start = time.monotonic()
    while time.monotonic() - start < limit:
        done, _status = os.waitpid(pid, os.WNOHANG)
        if done == pid:
            return time.monotonic() - start
        time.sleep(0.02)
    return None


def hang_up(child: pexpect.spawn) -> None:
    """Close the terminal's master side, as a closed tab or a killed tmux does, through the
    one object that owns the descriptor (closing the number twice could close a socket
    another test opened since)."""
    child.ptyproc.fileobj.close()
    child.ptyproc.closed = True
    child.closed = True


def state(project: Path) -> dict[str, object]:
    path = project / ".dream-pixel" / "state-production.json"
    data: dict[str, object] = json.loads(path.read_text())
    return data


def test_closing_the_terminal_ends_the_app_at_once_with_progress_saved(
    project: Path, child_of: list[pexpect.spawn]
) -> None:
    child = spawn(project)
    child_of.append(child)
    child.expect("Prerequisites")
    child.expect("NEXTAUTH_URL")
    time.sleep(0.5)  # the page's field has the focus
    child.send("https://typed.example")
    time.sleep(0.5)
    pid = child.pid
    hang_up(child)  # the terminal is gone: no more reads, no more writes
    took = wait_exit(pid, 5.0)
    if took is None:
        os.kill(pid, 9)
        os.waitpid(pid, 0)
    # About a second (the exit guard), with room for a loaded test machine.
    assert took is not None and took < 3.0, f"still running after {took} s"
    # Typed, not yet confirmed with Next: kept for the next start.
    assert state(project)["app"] == {"NEXTAUTH_URL": "https://typed.example"}


def test_closing_the_terminal_right_after_ctrl_q_never_leaves_it_running(
    project: Path, child_of: list[pexpect.spawn]
) -> None:
    child = spawn(project)
    child_of.append(child)
    child.expect("NEXTAUTH_URL")
    time.sleep(0.5)
    child.send("\x11")  # ctrl+q
    pid = child.pid
    hang_up(child)
    took = wait_exit(pid, 5.0)
    if took is None:
        os.kill(pid, 9)
        os.waitpid(pid, 0)
    assert took is not None and took < 3.0, f"still running after {took} s"


def screen_text(raw: str) -> str:
    return ANSI.sub("", raw)


def summary_of(child: pexpect.spawn) -> str:
    """What the terminal keeps after the app left its screen: the text after the last
    alternate-screen exit."""
    child.expect(pexpect.EOF, timeout=20)
    raw = child.before or ""
    tail = raw[raw.rfind("\x1b[?1049l") :] if "\x1b[?1049l" in raw else raw
    return screen_text(tail).replace("\r\n", "\n")


def test_ctrl_q_leaves_a_summary_with_the_next_command(
    project: Path, child_of: list[pexpect.spawn]
) -> None:
    child = spawn(project)
    child_of.append(child)
    child.expect("NEXTAUTH_URL")
    time.sleep(0.5)
    child.send("https://typed.example")
    time.sleep(0.2)
    child.send("\x0e")  # ctrl+n: prerequisites done
    child.expect("Database")
    time.sleep(0.5)
    child.send("\x11")  # ctrl+q
    text = summary_of(child)
    child.close()
    assert child.exitstatus == 0, text[-3000:]  # what the terminal kept says why
    assert f"Dream Pixel setup, production: 1 of {len(STEP_IDS)} steps done" in text
    assert re.search(r"✓ Prerequisites +done", text)
    assert re.search(r"· Database +pending", text)
    assert f"Progress: {project}/.dream-pixel/state-production.json" in text
    assert "Written: nothing yet." in text
    assert f"dream-pixel-setup --project-dir {project} resumes at Database" in text


def test_dry_run_prints_its_plan_and_the_command_that_applies_it(
    project: Path, child_of: list[pexpect.spawn]
) -> None:
    from wizard.engine import Session

    session = Session.open(project, env={})
    for step_id in ("database", "redis", "storage", "cloudflare", "sentry", "stripe"):
        session.mark_skipped(step_id, "later")
    for step_id in (
        "resend",
        "vercel",
        "github",
        "migrate",
        "deploy",
        "domain",
        "monitoring",
        "safeguards",
    ):
        session.mark_skipped(step_id, "later")
    child = spawn(project, "--dry-run", size=(40, 120))
    child_of.append(child)
    child.expect("Welcome back")
    time.sleep(0.3)
    child.send("\r")  # resume: the prerequisites
    child.expect("NEXTAUTH_URL")
    time.sleep(0.5)
    child.send("https://dry.example")
    child.send("\x0e")
    child.expect("32 random bytes")  # the Secrets page
    time.sleep(0.5)
    child.send("\x0e")
    child.expect("exactly as Next.js")  # the Env file page
    time.sleep(0.5)
    child.send("\x0e")
    child.expect("to add or create")  # the review's plan is on screen
    time.sleep(0.3)
    child.send("\x0e")  # Finish
    text = summary_of(child)
    child.close()
    assert child.exitstatus == 0
    assert "Plan for production (dry run: nothing was changed):" in text
    assert re.search(r"\+ add +env-file +NEXTAUTH_SECRET", text)
    assert "Written: nothing (dry run)." in text
    assert (
        f"dream-pixel-setup apply --set NEXTAUTH_URL=https://dry.example --project-dir {project}"
        in text
    )
    assert not (project / ".env.production").exists()
