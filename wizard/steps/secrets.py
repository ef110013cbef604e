"""NEXTAUTH_SECRET and JWT_SECRET: generated once (at session open) and kept."""

from __future__ import annotations

from wizard.context import StepContext

GENERATED = ("NEXTAUTH_SECRET", "JWT_SECRET")


async def run(ctx: StepContext) -> None:
    for key in GENERATED:
        source = ctx.values.app_source.get(key)
        if key in ctx.values.held:
            ctx.resource(key, "keep", ctx.values.held[key])
        elif source == "generated":
            ctx.resource(key, "create", "32 random bytes, hex")
        else:
            ctx.resource(key, "unchanged", "kept")
