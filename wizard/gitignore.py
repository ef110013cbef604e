"""Keep the user's env files and our state out of git."""

from __future__ import annotations

from pathlib import Path

from wizard.atomic import write_atomic

PATTERNS = (".env.*", "!.env.example", ".dream-pixel/")


def ensure_ignored(project_dir: Path, *, dry_run: bool) -> list[str]:
    """Append the patterns the project's .gitignore lacks; return them."""
    path = project_dir / ".gitignore"
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        text = ""
    present = {line.strip() for line in text.splitlines()}
    missing = [p for p in PATTERNS if p not in present]
    if ".env.*" in missing and "!.env.example" not in missing:
        # A negation only works after the pattern it excepts: repeat it below.
        missing.insert(missing.index(".env.*") + 1, "!.env.example")
    if missing and not dry_run:
        prefix = text if not text or text.endswith("\n") else text + "\n"
        block = "# dream-pixel-setup: secrets and wizard state\n" + "\n".join(missing) + "\n"
        mode = path.stat().st_mode & 0o777 if path.exists() else 0o644
        write_atomic(path, prefix + block, mode=mode)
    return missing
