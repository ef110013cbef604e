"""The guide's checklist: interactive in the front ends; here, what can be checked."""

from __future__ import annotations

import shutil
from pathlib import Path

from wizard.context import StepContext


def local_checks(project_dir: Path) -> dict[str, bool]:
    """What the wizard can verify itself, cheaply and offline."""
    return {
        "git on PATH": shutil.which("git") is not None,
        "node on PATH": shutil.which("node") is not None,
        "package.json in the project folder": (project_dir / "package.json").is_file(),
        "GitHub repository": (project_dir / ".git").exists(),
    }


async def run(ctx: StepContext) -> None:
    missing = [name for name, ok in local_checks(ctx.project_dir).items() if not ok]
    if missing:
        ctx.notice("prerequisites: not found: " + ", ".join(missing))
    ctx.resource("checklist", "check", "accounts and tokens are the user's to tick")
