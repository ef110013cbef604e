"""Write ``.env.<environment>``: only the keys that changed, in place, atomically."""

from __future__ import annotations

from wizard.context import StepContext
from wizard.envfile import load_checked_env_file, write_env_file
from wizard.gitignore import ensure_ignored, refuse_tracked


async def run(ctx: StepContext) -> None:
    path = ctx.project_dir / f".env.{ctx.environment}"
    # Checked again: the file may have changed since the session opened.
    doc = load_checked_env_file(path)
    existing = doc.values()
    target = path.name
    held = ctx.values.held
    for key, value in ctx.values.app.items():
        if key in held:
            # Production runs with a value we cannot see: writing ours would make this file
            # disagree with it. The file keeps what it has (or goes without the key).
            ctx.change("env-file", key, "keep", f"{target}: {held[key]}")
        elif key not in existing:
            ctx.change("env-file", key, "add", target)
            doc.set(key, value)
        elif existing[key] != value:
            ctx.change("env-file", key, "update", target)
            doc.set(key, value)
        else:
            ctx.change("env-file", key, "unchanged", target)
    for key, step_id in ctx.values.pending.items():
        if key not in ctx.values.app:
            action = "update" if key in existing else "add"
            ctx.change("env-file", key, action, f"{target}, from the {step_id} step")
    missing_ignores = ensure_ignored(ctx.project_dir, dry_run=True)
    if missing_ignores:
        ctx.change("env-file", ".gitignore", "update", ", ".join(missing_ignores), kind="resource")
    if ctx.dry_run:
        return
    refuse_tracked(ctx.project_dir, path.name)
    ensure_ignored(ctx.project_dir, dry_run=False)
    write_env_file(path, doc)
    _record_generated(ctx, doc.values())


def _record_generated(ctx: StepContext, written: dict[str, str]) -> None:
    """Remember (as digests) which values in the file we generated and never pushed: the
    engine keeps treating them as generated, not as values someone gave (see README)."""
    records = ctx.memory.get("generated")
    records = dict(records) if isinstance(records, dict) else {}
    for key in list(records):
        if key not in written:
            del records[key]
    for key, value in ctx.values.app.items():
        if written.get(key) != value:
            continue
        generated = ctx.values.app_source.get(key) == "generated"
        if generated or key in ctx.values.generated_earlier:
            records[key] = ctx.digest(value, key)
        else:
            records.pop(key, None)
    if records:
        ctx.memory["generated"] = records
    else:
        ctx.memory.pop("generated", None)
