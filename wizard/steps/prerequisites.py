"""The guide's checklist: interactive in the front ends; here, what can be checked."""

from __future__ import annotations

import shutil

from wizard.context import StepContext


def local_checks(ctx: StepContext) -> dict[str, bool]:
    """What the wizard can verify itself, cheaply and offline."""
    return {
        "git on PATH": shutil.which("git") is not None,
        "node on PATH": shutil.which("node") is not None,
        "package.json in the project folder": (ctx.project_dir / "package.json").is_file(),
        "GitHub repository": (ctx.project_dir / ".git").exists(),
    }


async def run(ctx: StepContext) -> None:
    missing = [name for name, ok in local_checks(ctx).items() if not ok]
    if missing:
        ctx.notice("prerequisites: not found: " + ", ".join(missing))
    ctx.resource("checklist", "check", "accounts and tokens are the user's to tick")
