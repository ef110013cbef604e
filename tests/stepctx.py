"""Build a StepContext for one step's tests without the whole engine."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Mapping
from pathlib import Path
from types import ModuleType

from wizard.catalogue import Catalogue
from wizard.context import StepContext
from wizard.values import ValueStore


def make_ctx(
    step_id: str,
    tmp_path: Path,
    *,
    app: Mapping[str, str] | None = None,
    operator: Mapping[str, str] | None = None,
    choices: Mapping[str, str] | None = None,
    env: Mapping[str, str] | None = None,
    memory: dict | None = None,
    dry_run: bool = False,
    environment: str = "production",
) -> StepContext:
    values = ValueStore()
    for k, v in (app or {}).items():
        values.set_app(k, v, "set")
    values.operator.update(operator or {})
    values.choices.update(choices or {})
    provided: dict[str, str] = {}
    ctx = StepContext(
        step_id=step_id,
        environment=environment,
        project_dir=tmp_path,
        dry_run=dry_run,
        values=values,
        catalogue=Catalogue(),
        env=dict(env or {}),
        memory=memory if memory is not None else {},
        digest_key=os.urandom(32),
        on_provide=lambda k, v: provided.__setitem__(k, v),
    )
    ctx.scratch["provided"] = provided
    return ctx


def check_and_run(step: ModuleType, ctx: StepContext) -> None:
    """A step as the engine runs it: its live check, then the run, in one event loop."""

    async def both() -> None:
        await step.check(ctx)
        await step.run(ctx)

    asyncio.run(both())
