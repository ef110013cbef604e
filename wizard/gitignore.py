"""Keep the user's env files and our state out of git."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from wizard.atomic import write_atomic
from wizard.errors import SetupError
from wizard.files import read_regular, refuse_link

PATTERNS = (".env.*", "!.env.example", ".dream-pixel/")
GIT_TIMEOUT = 10.0  # seconds; `git ls-files` answers in milliseconds


def ensure_ignored(project_dir: Path, *, dry_run: bool) -> list[str]:
    """Append the patterns the project's .gitignore lacks; return them.

    The .gitignore is read and replaced only as a regular file, never through a link."""
    path = project_dir / ".gitignore"
    data = read_regular(path, what=".gitignore")
    text = "" if data is None else data.decode("utf-8", "surrogateescape")
    present = {line.strip() for line in text.splitlines()}
    missing = [p for p in PATTERNS if p not in present]
    if ".env.*" in missing and "!.env.example" not in missing:
        # A negation only works after the pattern it excepts: repeat it below.
        missing.insert(missing.index(".env.*") + 1, "!.env.example")
    if missing and not dry_run:
        refuse_link(path, what=".gitignore")
        prefix = text if not text or text.endswith("\n") else text + "\n"
        block = "# dream-pixel-setup: secrets and wizard state\n" + "\n".join(missing) + "\n"
        mode = os.lstat(path).st_mode & 0o777 if data is not None else 0o644
        write_atomic(path, (prefix + block).encode("utf-8", "surrogateescape"), mode=mode)
    return missing


class TrackedEnvFile(SetupError):
    """The env file is in git's index: whatever the wizard writes there would be committed."""


def tracked_problem(project_dir: Path, name: str) -> str | None:
    """One line saying why ``name`` must not receive secrets, when git tracks it."""
    if not tracked_by_git(project_dir, name):
        return None
    return (
        f"{name} is tracked by git, so the secrets this wizard writes there would be "
        f"committed (.gitignore cannot change that) — untrack it with `git rm --cached {name}` "
        "and commit that, then rotate the secrets already in its history: untracking does "
        "not remove them from earlier commits"
    )


def refuse_tracked(project_dir: Path, name: str) -> None:
    """Raise ``TrackedEnvFile`` right before a write, when git tracks ``name``."""
    problem = tracked_problem(project_dir, name)
    if problem is not None:
        raise TrackedEnvFile(problem + "; nothing was written")


def tracked_by_git(project_dir: Path, name: str) -> bool:
    """Whether ``name`` (a file in ``project_dir``) is in the index of the repository holding
    ``project_dir``. False outside a repository, or when git is missing or fails.

    Only the file name goes on git's command line, and git gets a minimal environment: no
    secret travels to it. The repository's own config cannot start a program from here
    (``core.fsmonitor`` is off), and git takes no lock (``GIT_OPTIONAL_LOCKS=0``).
    """
    git = shutil.which("git")
    if git is None or not _inside_a_repository(project_dir):
        return False  # and no child process where there is nothing to ask
    env = {k: v for k, v in os.environ.items() if k in _GIT_ENV or k.startswith("LC_")}
    env.update(GIT_OPTIONAL_LOCKS="0", GIT_TERMINAL_PROMPT="0", GIT_LITERAL_PATHSPECS="1")
    try:
        proc = subprocess.run(
            [git, "-c", "core.fsmonitor=false", "ls-files", "--error-unmatch", "--", name],
            cwd=project_dir,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            timeout=GIT_TIMEOUT,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return False
    return proc.returncode == 0


def _inside_a_repository(project_dir: Path) -> bool:
    """A ``.git`` (folder, or file for worktrees and submodules) here or above: where git
    itself would look, its environment being cleared of GIT_DIR and the like."""
    return any(os.path.lexists(d / ".git") for d in (project_dir, *project_dir.parents))


# What git needs to find itself and the user's config; nothing else of ours.
_GIT_ENV = frozenset({"PATH", "HOME", "XDG_CONFIG_HOME", "LANG", "TMPDIR", "SYSTEMROOT"})
