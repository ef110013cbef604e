""".dream-pixel/ is trusted only as ssh trusts ~/.ssh, and a state of the wrong shape is one
clear line (issue 12, points 4, 5 and 13), through the real CLI."""

from __future__ import annotations

import contextlib
import io
import os
from pathlib import Path

import pytest

from wizard.cli import main

NESTED = '{"version": 1, "steps": {"storage": {"memory": ' + "[" * 40 + "]" * 40 + "}}}"
SHAPES = {
    "steps is a list": '{"version": 1, "steps": []}',
    "a step is text": '{"version": 1, "steps": {"database": "done"}}',
    "memory is a list": '{"version": 1, "steps": {"database": {"memory": []}}}',
    "a status is a number": '{"version": 1, "steps": {"database": {"status": 3}}}',
    "operator holds a number": '{"version": 1, "operator": {"GITHUB_REPOSITORY": 1}}',
    "choices is text": '{"version": 1, "choices": "s3"}',
    "version is true": '{"version": true}',
    "nested past the parser": "[" * 100_000 + "]" * 100_000,
    "memory nested too deep": NESTED,
    "not UTF-8": b'{"version": 1, "app": {"A": "\xff"}}'.decode("latin-1"),
}


def cli(project: Path, *argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main([argv[0], "--project-dir", str(project), *argv[1:]])
    return code, out.getvalue(), err.getvalue()


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for key in ("GITHUB_REPOSITORY", "VERCEL_PROJECT_ID", "VERCEL_ORG_ID", "CLOUDFLARE_ZONE"):
        monkeypatch.delenv(key, raising=False)
    p = tmp_path / "app"
    p.mkdir()
    (p / "package.json").write_text("{}\n")
    return p


def state_file(project: Path) -> Path:
    return project / ".dream-pixel" / "state-production.json"


def plant(project: Path, text: str, *, encoding: str = "utf-8") -> Path:
    path = state_file(project)
    path.parent.mkdir(mode=0o700, exist_ok=True)
    path.write_bytes(text.encode(encoding))
    return path


@pytest.mark.parametrize("shape", list(SHAPES))
def test_a_state_of_the_wrong_shape_is_one_clear_line_and_reset_works(
    project: Path, shape: str
) -> None:
    path = plant(project, SHAPES[shape], encoding="latin-1" if shape == "not UTF-8" else "utf-8")
    for argv in (
        ("status",),
        ("plan", "--only", "secrets"),
        ("apply", "--yes", "--only", "secrets"),
    ):
        code, out, err = cli(project, *argv)
        assert code == 1, (argv, err)
        assert "Traceback" not in out + err and "internal error" not in err
        lines = err.strip().splitlines()
        assert len(lines) == 1, err
        if shape == "version is true":
            assert "schema version" in lines[0] and "reset" in lines[0]
        else:
            assert lines[0].startswith(f"error: cannot read {path}: not a state file (")
            assert lines[0].endswith("— fix or delete it, or run `dream-pixel-setup reset`")
    assert not (project / ".env.production").exists()
    code, out, err = cli(project, "reset", "--yes")
    assert code == 0, err
    assert not path.exists()
    code, out, err = cli(project, "status")
    assert code == 0, err


def test_a_dream_pixel_folder_that_is_a_link_is_refused(project: Path, tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "state-production.json").write_text('{"version": 1}')
    (project / ".dream-pixel").symlink_to(elsewhere)
    for argv in (
        ("status",),
        ("plan", "--only", "secrets"),
        ("apply", "--yes", "--only", "secrets"),
        ("reset", "--yes"),
    ):
        code, _, err = cli(project, *argv)
        assert code == 1, (argv, err)
        assert err.count("\n") == 1 and "is a symbolic link to" in err and "rm " in err, err
    assert sorted(p.name for p in elsewhere.iterdir()) == ["state-production.json"]
    assert not (project / ".env.production").exists()


@pytest.mark.parametrize("name", ["state-production.json", "digest.key"])
def test_a_link_inside_the_folder_is_refused(project: Path, tmp_path: Path, name: str) -> None:
    outside = tmp_path / "outside"
    outside.write_text('{"version": 1}')
    (project / ".dream-pixel").mkdir(mode=0o700)
    (project / ".dream-pixel" / name).symlink_to(outside)
    code, _, err = cli(project, "apply", "--yes", "--only", "secrets,env-file")
    assert code == 1
    assert err.count("\n") == 1 and "symbolic link" in err, err
    assert outside.read_text() == '{"version": 1}'
    assert not (project / ".env.production").exists()


@pytest.mark.parametrize(
    ("what", "mode"), [("folder", 0o770), ("folder", 0o707), ("state", 0o664), ("key", 0o646)]
)
def test_writable_by_others_is_refused_as_ssh_would(project: Path, what: str, mode: int) -> None:
    code, _, err = cli(project, "apply", "--yes", "--only", "secrets")
    assert code == 0, err
    folder = project / ".dream-pixel"
    target = {"folder": folder, "state": state_file(project), "key": folder / "digest.key"}[what]
    before = state_file(project).read_bytes()
    target.chmod(mode)
    commands = [("plan", "--only", "secrets"), ("apply", "--yes", "--only", "secrets")]
    if what != "key":  # status reads the state only
        commands.append(("status",))
    for argv in commands:
        code, _, err = cli(project, *argv)
        assert code == 1, (argv, err)
        assert err.count("\n") == 1 and f"mode {mode:04o}" in err and "ssh" in err, err
        assert str(target) in err
    assert state_file(project).read_bytes() == before
    assert target.stat().st_mode & 0o777 == mode  # refused, not silently "fixed"


@pytest.mark.skipif(os.geteuid() != 0, reason="giving a file to another user needs root")
def test_owned_by_someone_else_is_refused(project: Path) -> None:
    code, _, err = cli(project, "apply", "--yes", "--only", "secrets")
    assert code == 0, err
    os.chown(state_file(project), 65534, 65534)
    code, _, err = cli(project, "plan", "--only", "secrets")
    assert code == 1
    assert err.count("\n") == 1 and "belongs to another user (uid 65534" in err, err


def test_loose_read_modes_from_older_versions_are_tightened(project: Path) -> None:
    code, _, err = cli(project, "apply", "--yes", "--only", "secrets")
    assert code == 0, err
    folder = project / ".dream-pixel"
    folder.chmod(0o755)
    state_file(project).chmod(0o644)
    (folder / "digest.key").chmod(0o644)
    # A plan only reads: it accepts them as they are...
    code, _, err = cli(project, "plan", "--only", "secrets")
    assert code == 0, err
    assert (folder / "digest.key").stat().st_mode & 0o777 == 0o644
    # ...a run that may write closes them.
    code, _, err = cli(project, "apply", "--yes", "--only", "secrets")
    assert code == 0, err
    assert folder.stat().st_mode & 0o777 == 0o700
    assert state_file(project).stat().st_mode & 0o777 == 0o600
    assert (folder / "digest.key").stat().st_mode & 0o777 == 0o600
    assert sorted(p.name for p in folder.iterdir()) == ["digest.key", "state-production.json"]


def test_a_huge_or_special_state_is_refused_not_read(project: Path) -> None:
    folder = project / ".dream-pixel"
    folder.mkdir(mode=0o700)
    os.mkfifo(folder / "state-production.json", 0o600)
    code, _, err = cli(project, "status")
    assert code == 1 and "not a regular file" in err and err.count("\n") == 1, err
    (folder / "state-production.json").unlink()
    with open(folder / "state-production.json", "wb") as f:
        f.truncate(8 * 1024 * 1024)
    code, _, err = cli(project, "status")
    assert code == 1 and "KB" in err and err.count("\n") == 1, err


def test_a_refused_apply_leaves_no_folder_behind(project: Path) -> None:
    code, _, err = cli(project, "apply", "--yes", "--set", "NEXTAUTH_URL=not-a-url")
    assert code == 1
    assert "NEXTAUTH_URL" in err
    assert not (project / ".dream-pixel").exists()


def test_a_digest_key_that_is_not_one_is_refused(project: Path) -> None:
    code, _, err = cli(project, "apply", "--yes", "--only", "secrets")
    assert code == 0, err
    key = project / ".dream-pixel" / "digest.key"
    key.write_text("not hex at all\n")
    code, out, err = cli(project, "apply", "--yes", "--only", "secrets")
    assert code == 1
    assert err.count("\n") == 1 and f"cannot read {key}: not a key" in err, err
    assert "Traceback" not in out + err
    assert key.read_text() == "not hex at all\n"  # never silently replaced


@pytest.mark.parametrize("kind", ["link", "fifo", "folder"])
def test_a_lock_file_that_is_not_a_file_is_refused(
    project: Path, tmp_path: Path, kind: str
) -> None:
    folder = project / ".dream-pixel"
    folder.mkdir(mode=0o700)
    lock = folder / "lock-production"
    outside = tmp_path / "outside"
    outside.write_text("keep me\n")
    if kind == "link":
        lock.symlink_to(outside)
    elif kind == "fifo":
        os.mkfifo(lock, 0o600)
    else:
        lock.mkdir()
    code, out, err = cli(project, "apply", "--yes", "--only", "secrets")
    assert code == 1
    assert err.count("\n") == 1 and str(lock) in err, err
    assert "Traceback" not in out + err
    assert outside.read_text() == "keep me\n"
    assert not (project / ".env.production").exists()
