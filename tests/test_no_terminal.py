"""Without a terminal the wizard leaves at once, through the real installed entry point.

Both front ends ask questions: with stdin or stdout not a terminal they would write
escape codes into a pipe and wait forever. Every run here is bounded by a timeout, so a
hang fails the test instead of stalling the suite.
"""

from __future__ import annotations

import os
import pty
import subprocess
import sys
import time
from pathlib import Path

import pexpect
import pytest

BIN = Path(sys.executable).parent / "dream-pixel-setup"
TIMEOUT = 20  # far above the ~1 s a refusal takes; a hang would take forever


@pytest.fixture
def project(tmp_path: Path) -> Path:
    p = tmp_path / "app"
    p.mkdir()
    (p / "package.json").write_text("{}\n")
    return p


def _env() -> dict[str, str]:
    return {**os.environ, "TERM": "xterm-256color", "COLUMNS": "80", "LINES": "24"}


def _files(root: Path) -> set[str]:
    return {str(p.relative_to(root)) for p in root.rglob("*")}


@pytest.mark.parametrize(
    "args", [[], ["--dry-run"], ["--plain"], ["--plain", "--dry-run"]], ids=" ".join
)
def test_no_stdin_terminal_exits_at_once_with_the_inputs_it_needs(
    project: Path, args: list[str]
) -> None:
    started = time.monotonic()
    proc = subprocess.run(
        [str(BIN), "--project-dir", str(project), *args],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        env=_env(),
    )
    assert proc.returncode == 1
    assert time.monotonic() - started < TIMEOUT / 2
    assert proc.stdout == ""  # no escape codes, no screen, nothing in the pipe
    err = proc.stderr
    assert "needs a terminal (standard input and standard output are not terminals)" in err
    assert "dream-pixel-setup plan" in err
    assert "dream-pixel-setup apply --yes" in err
    assert "NEXTAUTH_URL: missing" in err
    assert "\x1b" not in err
    assert "Traceback" not in err
    assert _files(project) == {"package.json"}  # nothing written, not even progress


def test_terminal_input_but_piped_output_exits_at_once(project: Path) -> None:
    """stdin is a real terminal (a pty) but stdout goes into a pipe: still no screen."""
    leader, follower = pty.openpty()
    try:
        proc = subprocess.run(
            [str(BIN), "--project-dir", str(project), "--dry-run"],
            stdin=follower,
            capture_output=True,
            timeout=TIMEOUT,
            env=_env(),
        )
    finally:
        os.close(follower)
        os.close(leader)
    assert proc.returncode == 1
    assert proc.stdout == b""
    assert b"(standard output is not one)" in proc.stderr
    assert b"\x1b" not in proc.stderr


def test_a_real_terminal_is_not_refused(project: Path) -> None:
    """The check must not refuse a person at a terminal: --plain starts its walk."""
    child = pexpect.spawn(
        str(BIN),
        ["--project-dir", str(project), "--plain", "--dry-run"],
        env=_env(),
        dimensions=(24, 80),
        timeout=TIMEOUT,
    )
    try:
        child.expect("Dream Pixel setup: production")
        child.expect("DRY RUN")
        child.sendcontrol("c")
        child.expect(pexpect.EOF)
    finally:
        child.close(force=True)
    assert child.exitstatus == 130
    assert b"needs a terminal" not in (child.before or b"")
