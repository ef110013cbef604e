"""The guide's checklist: interactive in the front ends; here, what can be checked."""

from __future__ import annotations

import shutil
from pathlib import Path

from wizard.context import StepContext


def local_checks(project_dir: Path) -> dict[str, bool]:
    """What the wizard can verify itself, cheaply and offline."""
    import os

    from wizard.discover import git_remote_repository

    return {
        "git on PATH": shutil.which("git") is not None,
        "node on PATH": shutil.which("node") is not None,
        "package.json in the project folder": (project_dir / "package.json").is_file(),
        # A checkout without a remote has not been pushed: the guide's first prerequisite.
        "GitHub repository (git remote origin)": git_remote_repository(project_dir, os.environ)
        is not None,
    }


async def run(ctx: StepContext) -> None:
    missing = [name for name, ok in local_checks(ctx.project_dir).items() if not ok]
    if missing:
        ctx.notice("prerequisites: not found: " + ", ".join(missing))
    ctx.resource("checklist", "check", "accounts and tokens are the user's to tick")
